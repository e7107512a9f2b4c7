"""Encryption of every Temporal payload (AES-256-GCM), with per-customer data keys for crypto-shredding.

- keys.py: the master keys (PAYLOAD_KEYS: several readable, one writing) and the AES-GCM primitives.
- payload.py: the PayloadCodec every client and worker uses (clients.py builds it).

The per-customer data keys live in Postgres, wrapped by a master key (db/data_keys.py). See
docs/security.md for the design and what it covers.
"""
