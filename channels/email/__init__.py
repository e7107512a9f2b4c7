"""E-mail in and out: MIME parsing (`parse`), loop and noise detection (`loops`), threading and the
ingest service both inbound paths share (`inbound`), the IMAP poller (`imap`) and SMTP from the customer
outbox (`outbound`). See docs/channels.md."""
