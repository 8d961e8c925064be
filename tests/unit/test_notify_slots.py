"""The delivery workers' bookkeeping: per-target and global limits, e-mail one at a time, claims never starve."""

from datetime import UTC, datetime

import pytest

from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.domain.model import Channel
from services.notify.handlers.slots import Slots

pytestmark = pytest.mark.unit


def delivery(n: int, target: str) -> ClaimedDelivery:
    now = datetime.now(UTC)
    return ClaimedDelivery(
        id=f"d{n}", channel=Channel.EMAIL if target.startswith("email:") else Channel.WEBHOOK, target_key=target,
        event_id=f"e{n}", event_type="referral.created.v1", event_time=now, body="{}", attempts=1, generation=0,
        window_started_at=now, subscription_id=None, recipient_id=None, template=None, concern_id=None,
        referral_id=None, municipality_code=None, subscription_url=None, subscription_state=None,
        secret_ciphertext=None, client_id=None, failing_since=None,
    )  # fmt: skip


def test_each_target_sends_at_most_its_limit_and_all_at_most_the_workers() -> None:
    slots = Slots(workers=5, per_target=2, depth=4)
    slots.add([delivery(i, "sub-a") for i in range(6)] + [delivery(10 + i, "sub-b") for i in range(6)])
    slots.add([delivery(20, "email:consultant-holbaek"), delivery(21, "email:consultant-holbaek")])
    started = slots.startable()
    assert [d.id for d in started] == ["d0", "d1", "d10", "d11", "d20"]  # oldest first; e-mail one at a time
    assert slots.startable() == []  # all five workers busy
    assert slots.done(started[0]) and not slots.done(started[0])
    assert [d.id for d in slots.startable()] == ["d2"]


def test_a_target_at_its_hold_limit_leaves_room_to_claim_for_others() -> None:
    slots = Slots(workers=4, per_target=2, depth=8)
    assert slots.hold_limit("sub-a") == 16 and slots.hold_limit("email:x") == 2
    slots.add([delivery(i, "sub-hanging") for i in range(16)])
    slots.startable()
    assert slots.held() == {"sub-hanging": 16}
    assert slots.room() == 4  # 4 x 4 workers are held, yet never less room than the number of workers
    fresh = Slots(workers=4, per_target=2, depth=8)
    fresh.add([delivery(100 + i, "sub-other") for i in range(3)])
    assert fresh.room() == 13


def test_a_target_runs_low_when_its_line_is_no_longer_than_its_limit() -> None:
    slots = Slots(workers=8, per_target=2, depth=4)
    slots.add([delivery(i, "sub-a") for i in range(5)])
    first, _ = slots.startable()
    assert not slots.running_low("sub-a")  # 3 waiting, more than it may send at once
    slots.done(first)
    assert [d.id for d in slots.startable()] == ["d2"]
    assert slots.running_low("sub-a")  # 2 waiting: time to claim more
    assert slots.running_low("sub-nobody")
