"""The API key is Fernet-encrypted at rest; keys rotate; wrong keys fail clearly."""

from __future__ import annotations

import pytest

from qlosync.crypto import KeyCipher, generate_secret_key
from qlosync.errors import SecretKeyError
from qlosync.secrets import Secret

API_KEY = Secret("ABCDEFGHIJKLMNOPQRSTUVWXYZ123456")


def test_round_trip_and_ciphertext_hides_the_key():
    cipher = KeyCipher(Secret(generate_secret_key()))
    token = cipher.encrypt(API_KEY)
    assert API_KEY.reveal().encode() not in token
    assert cipher.decrypt(token) == API_KEY


def test_rotation_re_encrypts_with_the_newest_key():
    old, new = generate_secret_key(), generate_secret_key()
    token = KeyCipher(Secret(old)).encrypt(API_KEY)
    rotated = KeyCipher(Secret(f"{new},{old}")).rotate(token)
    # Only the new key is needed afterwards
    assert KeyCipher(Secret(new)).decrypt(rotated) == API_KEY
    with pytest.raises(SecretKeyError):
        KeyCipher(Secret(new)).decrypt(token)


def test_wrong_key_gives_a_clear_error_without_the_key():
    token = KeyCipher(Secret(generate_secret_key())).encrypt(API_KEY)
    wrong = generate_secret_key()
    with pytest.raises(SecretKeyError, match="cannot be decrypted") as info:
        KeyCipher(Secret(wrong)).decrypt(token)
    assert wrong not in str(info.value)


def test_malformed_secret_key_is_rejected_without_echoing_it():
    with pytest.raises(SecretKeyError, match="not a valid Fernet key") as info:
        KeyCipher(Secret("not-a-fernet-key-but-secret"))
    assert "not-a-fernet-key-but-secret" not in str(info.value)
