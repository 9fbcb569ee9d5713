"""The TypeScript workers' encrypted API key: what Node itself encrypts decrypts here, and a failure never
says the key."""

from __future__ import annotations

import pytest

from qlosync.errors import ConfigurationError
from qlosync.pms.hotelmanangement.workers_key import UndecryptableKeyError, decrypt, master_key
from qlosync.secrets import Secret
from tests.conftest import TEST_API_KEY
from tests.hms.workers import node_encrypt, workers_encrypt

HEX_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.mark.parametrize("encryption_key", ["a passphrase of the PMS", HEX_KEY, None],
                         ids=["passphrase", "64 hex characters", "not set (development key)"])
def test_a_key_node_encrypted_as_the_workers_did_decrypts(encryption_key: str | None) -> None:
    stored = node_encrypt(TEST_API_KEY, encryption_key)
    salt, iv, tag, _ = stored.split(":")
    assert (len(salt), len(iv), len(tag)) == (128, 32, 32)  # 64, 16 and 16 bytes, as the digest says
    assert decrypt(stored, master_key(encryption_key)) == Secret(TEST_API_KEY)


def test_a_64_character_value_is_taken_as_hex_not_as_a_passphrase() -> None:
    stored = workers_encrypt(TEST_API_KEY, master_key(HEX_KEY))
    assert master_key(HEX_KEY).value == bytes.fromhex(HEX_KEY)
    assert decrypt(stored, master_key(HEX_KEY)) == Secret(TEST_API_KEY)


def test_the_development_key_is_flagged_and_refused_in_production() -> None:
    assert master_key(None).dev and master_key("").dev
    assert not master_key("a passphrase").dev
    with pytest.raises(ConfigurationError, match="ENCRYPTION_KEY is not set"):
        master_key(None, node_env="production")


@pytest.mark.parametrize(("stored", "why"), [
    ("", "not in the TypeScript workers' format"),
    ("aa:bb:cc", "not in the TypeScript workers' format"),
    ("zz:" + "00" * 16 + ":" + "00" * 16 + ":00", "not hexadecimal"),
    ("00:" + "00" * 12 + ":" + "00" * 16 + ":00", "IV or tag is not 16 bytes"),
])
def test_a_malformed_value_says_what_is_wrong(stored: str, why: str) -> None:
    with pytest.raises(UndecryptableKeyError, match=why):
        decrypt(stored, master_key("x"))


def test_a_wrong_master_key_fails_without_saying_either_key() -> None:
    stored = workers_encrypt(TEST_API_KEY, master_key("the right one"))
    with pytest.raises(UndecryptableKeyError) as caught:
        decrypt(stored, master_key("the wrong one"))
    message = str(caught.value)
    assert "does not decrypt with this master key" in message
    for secret in (TEST_API_KEY, "the right one", "the wrong one", master_key("the right one").value.hex()):
        assert secret not in message
    assert "value=" not in repr(master_key("the right one"))
