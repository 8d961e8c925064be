"""Envelope encryption of a concern's details: AES-GCM, bound to the concern, unreadable without its key."""

import os
import uuid

import pytest

from services.intake.adapters.sealing import Sealer, UnreadableDetails

pytestmark = pytest.mark.unit

DETAILS = {"description": "Beboeren virker forvirret (fiktivt)", "resident": {"name": "Fiktiv Person"}}


def test_sealed_details_open_again_and_hold_no_plaintext() -> None:
    sealer = Sealer(os.urandom(32))
    concern_id = str(uuid.uuid4())
    sealed = sealer.seal(concern_id, DETAILS)
    assert sealer.open(concern_id, sealed.wrapped_key, sealed.ciphertext) == DETAILS
    assert b"Fiktiv" not in sealed.ciphertext and b"Fiktiv" not in sealed.wrapped_key
    assert len(sealed.wrapped_key) == 12 + 32 + 16  # nonce, AES-256 key, tag
    assert sealed.master_key_id == sealer.master_key_id and len(sealer.master_key_id) == 16


def test_each_concern_gets_its_own_data_key() -> None:
    sealer = Sealer(os.urandom(32))
    first, second = sealer.seal("a", DETAILS), sealer.seal("a", DETAILS)
    assert first.wrapped_key != second.wrapped_key and first.ciphertext != second.ciphertext


def test_a_key_or_ciphertext_moved_to_another_concern_does_not_open() -> None:
    sealer = Sealer(os.urandom(32))
    one, other = str(uuid.uuid4()), str(uuid.uuid4())
    sealed_one, sealed_other = sealer.seal(one, DETAILS), sealer.seal(other, DETAILS)
    with pytest.raises(UnreadableDetails):
        sealer.open(other, sealed_one.wrapped_key, sealed_one.ciphertext)
    with pytest.raises(UnreadableDetails):
        sealer.open(one, sealed_one.wrapped_key, sealed_other.ciphertext)


def test_without_the_data_key_or_with_another_master_key_nothing_opens() -> None:
    sealer = Sealer(os.urandom(32))
    sealed = sealer.seal("c", DETAILS)
    with pytest.raises(UnreadableDetails):
        sealer.open("c", None, sealed.ciphertext)  # crypto-shredded: the wrapped key row is gone
    with pytest.raises(UnreadableDetails):
        Sealer(os.urandom(32)).open("c", sealed.wrapped_key, sealed.ciphertext)
    with pytest.raises(UnreadableDetails):
        sealer.open("c", sealed.wrapped_key[:-1] + bytes([sealed.wrapped_key[-1] ^ 1]), sealed.ciphertext)


def test_the_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Sealer(b"short")
