"""Envelope encryption of personal details: a random AES-256-GCM data key per concern, wrapped by the master key."""

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class UnreadableDetails(Exception):
    """The details cannot be decrypted: the key was destroyed (erasure), or key and data do not belong together."""


@dataclass(frozen=True)
class Sealed:
    """What is stored: the wrapped data key (its own table) and the encrypted details (the concern row)."""

    master_key_id: str
    wrapped_key: bytes
    ciphertext: bytes


class Sealer:
    """Seals and opens a concern's details; the concern id is bound in as associated data."""

    def __init__(self, master_key: bytes):
        if len(master_key) != 32:
            raise ValueError("the master key must be 32 bytes")
        self._master = AESGCM(master_key)
        # Identifies the master key (for rotation) without revealing anything about it.
        self.master_key_id = hashlib.sha256(b"crp-intake-master-key-id\x00" + master_key).hexdigest()[:16]

    def seal(self, concern_id: str, details: dict[str, Any]) -> Sealed:
        """Encrypt `details` under a fresh data key and wrap that key with the master key."""
        data_key = AESGCM.generate_key(bit_length=256)
        plaintext = json.dumps(details, ensure_ascii=False, separators=(",", ":")).encode()
        ciphertext = _encrypt(AESGCM(data_key), plaintext, _aad("details", concern_id))
        wrapped = _encrypt(self._master, data_key, _aad("data-key", concern_id))
        return Sealed(self.master_key_id, wrapped, ciphertext)

    def open(self, concern_id: str, wrapped_key: bytes | None, ciphertext: bytes | None) -> dict[str, Any]:
        """Decrypt a concern's details; UnreadableDetails when the key is gone or does not fit."""
        if wrapped_key is None or ciphertext is None:
            raise UnreadableDetails("no data key or no details")
        try:
            data_key = _decrypt(self._master, wrapped_key, _aad("data-key", concern_id))
            plaintext = _decrypt(AESGCM(data_key), ciphertext, _aad("details", concern_id))
        except (InvalidTag, ValueError):
            raise UnreadableDetails("the details cannot be decrypted") from None
        return json.loads(plaintext)


def _aad(kind: str, concern_id: str) -> bytes:
    # Binds each ciphertext to its purpose and its concern: a key or blob moved to another row does not open.
    return f"crp-intake:v1:{kind}:{concern_id}".encode()


def _encrypt(cipher: AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, plaintext, aad)


def _decrypt(cipher: AESGCM, blob: bytes, aad: bytes) -> bytes:
    if len(blob) <= NONCE_BYTES:
        raise ValueError("too short")
    return cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
