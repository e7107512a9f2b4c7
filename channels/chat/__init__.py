"""The chat widget: one script tag on the host site, live replies over server-sent events."""
