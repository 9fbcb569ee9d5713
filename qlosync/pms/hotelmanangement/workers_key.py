"""The QloApps API key as the PMS's TypeScript workers stored it (``public.qloapps_config.api_key_encrypted``).

Their format, read off the PMS (../shared/pms-hotelmanangement.md): ``SALT:IV:TAG:CIPHERTEXT``, each part hex.
The master key comes from the environment variable ``ENCRYPTION_KEY``; each value has a data key of its own,
scrypt(master key, SALT, 32 bytes) with Node's defaults (N=16384, r=8, p=1), and is AES-256-GCM with a
16-byte IV and a 16-byte tag. Only decryption is needed here: qlosync re-encrypts the key with its own
QLOSYNC_SECRET_KEY (qlosync.crypto) and never writes this format.

Neither a key nor a master key is ever put into a repr, a log line or an exception message.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from qlosync.errors import ConfigurationError
from qlosync.secrets import Secret

KEY_LENGTH = 32
IV_LENGTH = 16
TAG_LENGTH = 16
#: Node's crypto.scryptSync defaults, which the workers used.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1
MASTER_SALT = b"beds24-encryption-salt"
#: What the workers fell back to without ENCRYPTION_KEY outside production (NODE_ENV != 'production').
DEV_PASSPHRASE = b"default-dev-key-change-in-production"
DEV_SALT = b"salt"
ENV_VARIABLE = "ENCRYPTION_KEY"


class UndecryptableKeyError(ConfigurationError):
    """A stored key that cannot be decrypted (wrong ENCRYPTION_KEY, or not in the workers' format)."""


def scrypt(secret: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=KEY_LENGTH, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(secret)


@dataclass(frozen=True)
class MasterKey:
    """The workers' master key; ``dev`` says it is their development fallback (ENCRYPTION_KEY was not set)."""

    value: bytes = field(repr=False)
    dev: bool = False


def master_key(encryption_key: str | None, *, node_env: str | None = None) -> MasterKey:
    """The master key the workers derived from ENCRYPTION_KEY (*encryption_key*; None or empty: not set).

    Without it, the workers used a fixed development key unless NODE_ENV was 'production', where they refused
    to start: the same here, so a production PMS's keys are never tried with the development key."""
    if not encryption_key:
        if node_env == "production":
            raise ConfigurationError(f"{ENV_VARIABLE} is not set (the TypeScript workers need it when NODE_ENV is "
                                     "production): give qlosync the PMS's ENCRYPTION_KEY")
        return MasterKey(scrypt(DEV_PASSPHRASE, DEV_SALT), dev=True)
    if len(encryption_key) == 2 * KEY_LENGTH:
        return MasterKey(_node_hex(encryption_key))
    return MasterKey(scrypt(encryption_key.encode("utf-8"), MASTER_SALT))


def _node_hex(text: str) -> bytes:
    # The workers took any 64-character value as hex (Buffer.from(value, 'hex')), which decodes pairs up to
    # the first one that is not hex and drops the rest: a 64-character non-hex passphrase gives a shorter key.
    out = bytearray()
    for start in range(0, len(text) - 1, 2):
        pair = text[start:start + 2]
        if not all(c in string.hexdigits for c in pair):
            break
        out.append(int(pair, 16))
    return bytes(out)


def decrypt(stored: str, master: MasterKey) -> Secret:
    """The API key in *stored*; :class:`UndecryptableKeyError` (saying why, never what) when it cannot be had."""
    parts = stored.strip().split(":")
    if len(parts) != 4 or not all(parts):
        raise UndecryptableKeyError("not in the TypeScript workers' format SALT:IV:TAG:CIPHERTEXT")
    try:
        salt, iv, tag, ciphertext = (bytes.fromhex(part) for part in parts)
    except ValueError:
        raise UndecryptableKeyError("a part of it is not hexadecimal") from None
    if len(iv) != IV_LENGTH or len(tag) != TAG_LENGTH:
        raise UndecryptableKeyError(f"its IV or tag is not {IV_LENGTH} bytes long")
    try:
        plain = AESGCM(scrypt(master.value, salt)).decrypt(iv, ciphertext + tag, None)
    except InvalidTag:
        raise UndecryptableKeyError(f"it does not decrypt with this master key (is {ENV_VARIABLE} the PMS's?)") \
            from None
    try:
        return Secret(plain.decode("utf-8"))
    except UnicodeDecodeError:
        raise UndecryptableKeyError("it decrypts to something that is not text") from None

