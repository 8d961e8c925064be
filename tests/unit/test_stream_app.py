"""The Faust app every worker service builds: Faust's own classes configured through its settings, nothing patched."""

import faust
import pytest
from faust.transport.drivers import aiokafka as faust_aiokafka

from services.routing.settings import RoutingSettings
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


def test_the_app_is_faust_s_own_app_transport_and_consumer() -> None:
    app = make_stream_app(_settings())
    assert type(app) is faust.App
    assert type(app.transport) is faust_aiokafka.Transport
    assert type(app.consumer) is faust_aiokafka.Consumer


def test_the_agent_buffer_holds_seconds_of_work_and_follows_the_setting() -> None:
    # Faust stops fetching at 80% of the buffer and, with every partition stopped, looks again only after 1 s.
    assert make_stream_app(_settings()).conf.stream_buffer_maxsize == 16384
    assert make_stream_app(_settings(stream_buffer_maxsize=1000)).conf.stream_buffer_maxsize == 1000


def test_the_app_id_is_the_service_group_with_the_topic_prefix_once() -> None:
    # Routing's group was once `<prefix><prefix>routing-service` (the prefix added to its app name and again).
    settings = RoutingSettings(
        database_url="postgresql://u:p@127.0.0.1:1/db", subject_key_secret="s" * 16, topic_prefix="so1."
    )
    assert make_stream_app(settings).conf.id == "so1.routing-service" == settings.kafka_group()
    assert make_stream_app(_settings(topic_prefix="so1.")).conf.id == "so1.stats-service"
    assert make_stream_app(_settings()).conf.id == "stats-service"
