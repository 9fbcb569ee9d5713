"""qlosync.fields without a database: the canonical values, and the spellings of an address that reach the
same link-local or metadata host."""

from __future__ import annotations

import pytest

from qlosync import fields
from qlosync.fields import InvalidValueError
from qlosync.secrets import Secret


@pytest.mark.parametrize("given,stored", [
    ("http://qlo.example.test/api/", "http://qlo.example.test"),
    ("https://h.test:8443/shop/", "https://h.test:8443/shop"),
    ("http://[::1]:8080", "http://[::1]:8080"),
    ("http://qloapps_web", "http://qloapps_web"),
])
def test_base_urls_are_stored_without_a_trailing_api(given, stored):
    assert fields.base_url(given) == stored


@pytest.mark.parametrize("url", [
    "http://169.254.169.254", "http://169.254.0.1:80/x", "http://2852039166", "http://0xa9fea9fe",
    "http://169.254.43518", "http://[fe80::1]", "http://[febf::1]", "http://[::ffff:169.254.169.254]",
    "http://metadata.google.internal", "http://METADATA.google.internal./", "http://metadata",
    "http://[fd00:ec2::254]", "http://100.100.100.200",
])
def test_link_local_and_metadata_spellings_are_refused_unless_allowed(url):
    with pytest.raises(InvalidValueError, match="QLOSYNC_ALLOW_LINK_LOCAL_URLS=1"):
        fields.base_url(url)
    assert fields.base_url(url, allow_link_local=True).startswith("http://")


@pytest.mark.parametrize("url", ["http://169.253.255.255", "http://[fec0::1]", "http://10.0.0.5",
                                 "http://metadata.example.test"])
def test_neighbouring_addresses_are_not_link_local(url):
    assert fields.base_url(url) == url


@pytest.mark.parametrize("url", [" http://x.test", "http://x.test\n", "http://x.test:0", "http://x.test:port",
                                 "http://[::1", "http://:8080", "http://x.test?key=1", "http://x.test/#f",
                                 "http://user@x.test", "http://h\u00f4tel.test", "http://x.test/\x00"])
def test_malformed_urls_are_refused_without_echoing_them(url):
    with pytest.raises(InvalidValueError) as refused:
        fields.base_url(url)
    assert url.strip() not in str(refused.value) and "\n" not in str(refused.value)


def test_api_key_messages_never_carry_the_key():
    key = "K" * 31 + "\u00e9"
    with pytest.raises(InvalidValueError) as refused:
        fields.api_key(Secret(key))
    assert key not in str(refused.value)
    assert fields.api_key(Secret("K" * 32)).reveal() == "K" * 32


@pytest.mark.parametrize("text,number", [("1", 1), ("2147483647", 2147483647), (" 42 ", 42), (7, 7)])
def test_ids_in_range(text, number):
    assert fields.positive_int32(text) == number


@pytest.mark.parametrize("text", ["0", "2147483648", "-1", "1_000", "\u0663", "1.0", "", "9" * 100_000, True])
def test_ids_out_of_range_or_not_numbers(text):
    with pytest.raises(InvalidValueError, match="the id must be"):
        fields.positive_int32(text)
