"""Channels customers already use: e-mail, the chat widget, signed webhooks."""
