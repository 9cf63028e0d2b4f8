"""Staff password hashing with argon2id; parameters come from ACTIONKIT_PASSWORD_HASH__* so they can grow."""
from __future__ import annotations

import secrets
from functools import lru_cache
from typing import Any

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

# OWASP's recommended argon2id minimum (19 MiB, 2 passes, 1 lane): ~50 ms on a server core, and cheap enough in
# memory that a burst of log-in attempts cannot exhaust a web worker. Raise them with ACTIONKIT_PASSWORD_HASH__*;
# existing hashes are upgraded at each staff member's next log-in.
DEFAULT_PARAMETERS = {"time_cost": 2, "memory_cost": 19456, "parallelism": 1}
MIN_LENGTH = 12
MAX_LENGTH = 256  # long passphrases are welcome; megabyte "passwords" are not hashed


class PasswordPolicyError(ValueError):
    """A new password is unacceptable; the message says why."""


def _parameters() -> tuple[int, int, int]:
    cfg: dict[str, Any] = {**DEFAULT_PARAMETERS, **(current_app.config.get("PASSWORD_HASH") or {})}
    return int(cfg["time_cost"]), int(cfg["memory_cost"]), int(cfg["parallelism"])


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


def hasher() -> PasswordHasher:
    """The hasher for the app's current parameters."""
    return _hasher(*_parameters())


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))


def check_policy(password: str) -> None:
    """Length is what matters (NIST 800-63B): at least 12 characters, not only spaces, at most 256."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"The password must be at least {MIN_LENGTH} characters long.")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"The password must be at most {MAX_LENGTH} characters long.")
    if not password.strip():
        raise PasswordPolicyError("The password cannot be only spaces.")


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify(password_hash: str, password: str) -> bool:
    """True when the password matches; a malformed stored hash never matches."""
    if len(password) > MAX_LENGTH:
        password = password[:MAX_LENGTH + 1]  # still costs one hash, still cannot match
    try:
        return hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The stored hash was made with other parameters (or another algorithm) than the current ones."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time() -> None:
    """Verify against a dummy hash, so an unknown email takes as long to refuse as a wrong password."""
    verify(_dummy_hash(*_parameters()), "not the password")


def generate_password() -> str:
    """A random password (about 120 bits) for --generate and admin resets; shown once, never stored in clear."""
    return secrets.token_urlsafe(15)
