"""The QloApps API key at rest: Fernet-encrypted with QLOSYNC_SECRET_KEY.

QLOSYNC_SECRET_KEY holds one or more Fernet keys separated by commas, newest first. Encryption always
uses the first; decryption tries them all, so keys can rotate: put the new key first, run
``qlosync config rotate-key``, then drop the old key.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from qlosync.errors import SecretKeyError
from qlosync.secrets import Secret


def generate_secret_key() -> str:
    """A new random key for QLOSYNC_SECRET_KEY."""
    return Fernet.generate_key().decode("ascii")


class KeyCipher:
    """Encrypts and decrypts API keys with the keys in QLOSYNC_SECRET_KEY."""

    def __init__(self, secret_key: Secret) -> None:
        parts = [p.strip() for p in secret_key.reveal().split(",") if p.strip()]
        if not parts:
            raise SecretKeyError("QLOSYNC_SECRET_KEY is empty")
        fernets = []
        for position, part in enumerate(parts, start=1):
            try:
                fernets.append(Fernet(part.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                # Never echo the value: it is a secret even when malformed.
                raise SecretKeyError(
                    f"QLOSYNC_SECRET_KEY key #{position} is not a valid Fernet key "
                    "(32 url-safe base64-encoded bytes; make one with `qlosync config generate-secret`)"
                ) from None
        self._fernet = MultiFernet(fernets)

    def encrypt(self, api_key: Secret) -> bytes:
        return self._fernet.encrypt(api_key.reveal().encode("utf-8"))

    def decrypt(self, token: bytes) -> Secret:
        try:
            return Secret(self._fernet.decrypt(bytes(token)).decode("utf-8"))
        except InvalidToken:
            raise SecretKeyError(
                "the stored QloApps API key cannot be decrypted with QLOSYNC_SECRET_KEY "
                "(wrong key, or the key it was encrypted with was removed)"
            ) from None

    def rotate(self, token: bytes) -> bytes:
        """Re-encrypt *token* with the newest key."""
        try:
            return self._fernet.rotate(bytes(token))
        except InvalidToken:
            raise SecretKeyError(
                "the stored QloApps API key cannot be decrypted with any key in QLOSYNC_SECRET_KEY"
            ) from None
