"""The kits' Base45 decoder gives the ``base45`` package's answers (RFC 9285), for good text and bad."""

from __future__ import annotations

import os

import base45
import pytest

from certkit.b45 import b45decode


def test_it_decodes_what_the_package_encodes_at_every_length():
    for length in (*range(0, 40), 341, 1000):
        data = os.urandom(length)
        assert b45decode(base45.b45encode(data).decode()) == data
    assert b45decode("BB8") == b"AB" and b45decode(b"%69 VD92EX0") == b"Hello!!"  # the RFC's examples


@pytest.mark.parametrize("text", ["A", "ABCD", "GGW", "::", "GG", "abc", "AB\u00e9", "A B!", "\x00\x00\x00"])
def test_what_the_package_refuses_it_refuses(text):
    with pytest.raises(ValueError):
        base45.b45decode(text)
    with pytest.raises(ValueError):
        b45decode(text)


def test_the_signature_structure_is_the_one_cbor2_encodes():
    import cbor2

    from passkit.cose import to_be_signed

    for protected, payload in ((b"", b""), (b"\xa1\x01\x27", b"\xa1\x01\x1a\x03\x8b\x8b\x38"), (os.urandom(300), b"x"),
                               (os.urandom(70000), os.urandom(23))):
        assert to_be_signed(protected, payload) == cbor2.dumps(["Signature1", protected, b"", payload])
