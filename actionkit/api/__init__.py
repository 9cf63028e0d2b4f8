"""A read-only JSON API for staff tools, behind personal API tokens (created and revoked by their owner, stored
only as a keyed hash, limited to a role no higher than the owner's, every creation, revocation and export audited)."""
