"""The Faust app every worker service builds: its consumer must not stall a flood (see shared/kafka/streams.py)."""

import pytest

from services.stats.settings import StatsSettings
from shared.kafka.streams import make_stream_app

pytestmark = pytest.mark.unit


def _settings(**overrides: object) -> StatsSettings:
    return StatsSettings(
        database_url="postgresql://u:p@127.0.0.1:1/db",
        subject_key_secret="s" * 16,
        kafka_bootstrap_servers="127.0.0.1:1",
        **overrides,
    )


async def test_the_agent_consumer_long_polls_for_a_tenth_of_a_second_not_faust_s_one_and_a_half() -> None:
    # A fetch sent while the agent works through fetched records asks only for the empty assignor and changelog
    # topics; every partition that runs dry meanwhile waits for it to come back.
    app = make_stream_app(_settings())
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    try:
        assert consumer._fetch_max_wait_ms == 100
        assert consumer._group_id == app.conf.id  # still Faust's own worker consumer, only the long-poll changed
    finally:
        await consumer.stop()


async def test_the_agent_buffer_holds_seconds_of_work_and_follows_the_setting() -> None:
    # Faust stops fetching at 80% of the buffer and, with every partition stopped, looks again only after 1 s.
    assert make_stream_app(_settings()).conf.stream_buffer_maxsize == 16384
    assert make_stream_app(_settings(stream_buffer_maxsize=1000)).conf.stream_buffer_maxsize == 1000
