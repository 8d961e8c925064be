"""Opaque cursors, and signing secrets that are shown once and stored encrypted."""

import pytest
from cryptography.exceptions import InvalidTag
from standardwebhooks.webhooks import Webhook

from services.notify.adapters.secrets import SecretBox, new_signing_secret
from services.notify.domain.cursor import BadCursor, decode_cursor, encode_cursor

pytestmark = pytest.mark.unit

MASTER = "dGVzdC1tYXN0ZXIta2V5LTAxMjM0NTY3ODlhYmNkZWY="


def test_cursors_round_trip_and_refuse_what_is_not_theirs() -> None:
    assert decode_cursor("feed", encode_cursor("feed", 42)) == 42
    assert decode_cursor("feed", None) == 0
    for bad in ("nonsense!", encode_cursor("deliveries", 3), "ZmVlZDotMQ", "ZmVlZDo"):
        with pytest.raises(BadCursor):
            decode_cursor("feed", bad)


def test_a_secret_is_whsec_and_usable_by_standard_webhooks() -> None:
    secret = new_signing_secret()
    assert secret.startswith("whsec_") and secret != new_signing_secret()
    Webhook(secret)  # parses


def test_sealed_secrets_open_only_for_their_subscription_and_untampered() -> None:
    box = SecretBox(MASTER)
    secret = new_signing_secret()
    sealed = box.seal(secret, "sub-1")
    assert secret.encode() not in sealed
    assert box.open(sealed, "sub-1") == secret
    with pytest.raises(InvalidTag):
        box.open(sealed, "sub-2")
    with pytest.raises(InvalidTag):
        box.open(sealed[:-1] + bytes([sealed[-1] ^ 1]), "sub-1")
    with pytest.raises(InvalidTag):
        SecretBox("b3RoZXItbWFzdGVyLWtleS0wMTIzNDU2Nzg5YWJjZGVm").open(sealed, "sub-1")
