"""Outgoing webhooks signed per the Standard Webhooks specification, their delivery log and dispatcher."""
