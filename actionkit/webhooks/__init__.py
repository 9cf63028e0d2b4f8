"""Webhooks for the organization's systems and the Action Network sync: events (signature recorded, letter
delivered or failed, consent withdrawn, supporter deleted) recorded as outbox rows in the transaction that
caused them, sent by thin tasks that claim a row with a lease, retried with backoff, dead-lettered, replayable."""
