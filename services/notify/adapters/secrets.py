"""Webhook signing secrets: made once, shown once in whsec_ format, stored encrypted (AES-GCM)."""

import base64
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format prefix, not a secret
_NONCE_BYTES = 12


def new_signing_secret() -> str:
    """A fresh 32-byte secret in the Standard Webhooks `whsec_<base64>` form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class SecretBox:
    """Encrypts secrets under a key derived from the master key; the subscription id is bound in as AAD."""

    def __init__(self, master_key_b64: str):
        master = base64.b64decode(master_key_b64)
        # A key of notify's own, so the master key itself never encrypts anything here.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"crp-notify webhook secrets v1").derive(
            master
        )
        self._aead = AESGCM(key)

    def seal(self, secret: str, subscription_id: str) -> bytes:
        """Nonce + ciphertext of `secret`."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), subscription_id.encode())

    def open(self, sealed: bytes, subscription_id: str) -> str:
        """The secret; raises cryptography's InvalidTag if it was tampered with or belongs elsewhere."""
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, subscription_id.encode()).decode()
