"""E-mail in and out: MIME parsing (`parse`), loop and noise detection (`loops`), threading and the
ingest service both inbound paths share (`inbound`), delivery reports (`bounces`), the IMAP poller
(`imap`) with its IDLE watcher (`imap_idle`) and SMTP from the customer outbox (`outbound`). See
docs/channels.md."""
