"""The rebuild's staging pipeline: decoding and COPY overlap, and a failing COPY stops the rebuild."""

import asyncio

import pytest

from services.stats.adapters import rebuild
from services.stats.adapters.staging import StagingWriter

pytestmark = pytest.mark.unit


class FailingConnection:
    async def copy_records_to_table(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("the database went away")


class SlowConnection:
    def __init__(self) -> None:
        self.copied: list[tuple[str, list]] = []

    async def copy_records_to_table(self, table: str, *, records: list, schema_name: str) -> None:
        await asyncio.sleep(0.01)
        self.copied.append((table, list(records)))


def _writer_with_one_erasure(writer: StagingWriter, concern_id: str) -> StagingWriter:
    writer.event_ids.append((f"event-{concern_id}",))
    writer.rows["s_erased"].append((next(writer._seq), concern_id, None))
    return writer


async def test_a_failing_copy_surfaces_instead_of_leaving_the_decoder_waiting() -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    copier = asyncio.create_task(rebuild._copy_from(queue, FailingConnection()))
    writer = StagingWriter()

    with pytest.raises(ConnectionError):
        for n in range(5):  # the queue holds one: without the check the third hand-over would wait for ever
            await asyncio.wait_for(rebuild._hand_over(queue, _writer_with_one_erasure(writer, f"c{n}"), copier), 5)
            writer = writer.successor()


async def test_successive_writers_number_rows_on_in_arrival_order_and_all_are_copied() -> None:
    conn = SlowConnection()
    queue: asyncio.Queue = asyncio.Queue(maxsize=1)
    copier = asyncio.create_task(rebuild._copy_from(queue, conn))
    writer = StagingWriter()
    for n in range(4):
        await rebuild._hand_over(queue, _writer_with_one_erasure(writer, f"c{n}"), copier)
        writer = writer.successor()
    await rebuild._hand_over(queue, None, copier)
    await copier

    erased = [row for table, rows in conn.copied if table == "s_erased" for row in rows]
    assert [(seq, concern) for seq, concern, _ in erased] == [(0, "c0"), (1, "c1"), (2, "c2"), (3, "c3")]
    assert sum(len(rows) for table, rows in conn.copied if table == "s_events") == 4
