"""PostgreSQL going away under intake: 503 with Retry-After, nothing half-stored, service recovers by itself."""

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from shared.auth.principal import Role
from shared.contracts.envelope import decode
from shared.contracts.topics import CONCERN_EVENTS
from tests.support.intake_harness import bearer, concern_body, intake_settings, running_intake
from tests.support.polling import eventually, read_all

pytestmark = pytest.mark.integration


class TcpProxy:
    """A TCP relay in front of PostgreSQL that a test can cut (every connection dropped) and restore."""

    def __init__(self, host: str, port: int):
        self._target = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, upstream_writer}
        await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


def through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@127.0.0.1:{port}"))


async def test_with_postgresql_down_intake_answers_503_and_never_201(
    fresh_database, kafka_bootstrap: str, topic_prefix: str, issue_client
) -> None:  # noqa: ANN001
    reporter = await issue_client(Role.REPORTER, organisation_id="org-demo")
    async with fresh_database("intake") as url:
        target = urlsplit(url)
        proxy = TcpProxy(target.hostname, target.port)
        await proxy.start()
        settings = intake_settings(through(url, proxy.port), kafka_bootstrap, topic_prefix, readiness_timeout_s=1.0)
        async with running_intake(settings, reporter.token) as client:
            headers = bearer(reporter.token)
            assert (await client.post("/v1/concerns", json=concern_body(), headers=headers)).status_code == 201

            await proxy.stop()
            body, key = concern_body(), {"Idempotency-Key": "while-the-database-was-down"}
            for attempt in (headers, headers | key):
                down = await client.post("/v1/concerns", json=body, headers=attempt)
                assert down.status_code == 503, down.text
                assert down.headers["retry-after"] == "5"
                assert down.json()["title"] == "Service Unavailable"
            assert (await client.get("/readyz")).json()["checks"]["database"] == "down"
            direct = await asyncpg.connect(url)
            try:
                assert await direct.fetchval("SELECT count(*) FROM concerns") == 1
            finally:
                await direct.close()

            await proxy.start()
            retried: list = []

            async def accepted() -> bool:
                retried[:] = [await client.post("/v1/concerns", json=body, headers=headers | key)]
                return retried[0].status_code == 201

            await eventually(accepted, within=30, what="intake accepting again once PostgreSQL is back")
            concern_id = retried[0].json()["id"]

            async def published() -> bool:
                records = await read_all(kafka_bootstrap, topic_prefix + CONCERN_EVENTS, expected=1)
                return any(decode(r.value).data.concern_id == concern_id for r in records)

            await eventually(published, within=30, what="the relay publishing again")
        await proxy.stop()
