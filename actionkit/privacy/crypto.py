"""Encryption at rest (Fernet, rotating keys) and keyed lookup hashes (HMAC-SHA256) for personal data."""
from __future__ import annotations

import hashlib
import hmac
from typing import Any, Optional

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator


class Crypto:
    """Holds the keys; encrypt/decrypt text and compute lookup hashes."""

    def __init__(self, encryption_keys: list[str], hmac_key: str) -> None:
        if not encryption_keys:
            raise ValueError("at least one encryption key is required")
        self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in encryption_keys])
        self._hmac_key = hmac_key.encode()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Encrypt a whole file (e.g. a print batch PDF) under the current key."""
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: str) -> str:
        """Re-encrypt under the first (current) key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def lookup_hash(self, value: str, purpose: str) -> str:
        """Keyed hash for equality lookups (e.g. de-duplicating emails) without storing the value."""
        msg = f"{purpose}\x00{value}".encode("utf-8")
        return hmac.new(self._hmac_key, msg, hashlib.sha256).hexdigest()


def init_app(app: Flask) -> Crypto:
    keys = app.config["ENCRYPTION_KEYS"]
    crypto = Crypto(keys, app.config["HMAC_KEY"])
    app.extensions["crypto"] = crypto
    return crypto


def crypto() -> Crypto:
    return current_app.extensions["crypto"]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    return crypto().lookup_hash(normalise_email(email), "email")


class EncryptedText(TypeDecorator[str]):
    """A Text column whose value is encrypted with the app's keys before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Any) -> Optional[str]:
        if value is None:
            return None
        return crypto().encrypt(value)

    def process_result_value(self, value: Optional[str], dialect: Any) -> Optional[str]:
        if value is None:
            return None
        try:
            return crypto().decrypt(value)
        except InvalidToken as exc:
            raise ValueError("encrypted column could not be decrypted with the configured keys") from exc
