"""The webhook pool's network backend: a request's head and body leave in one write, nothing is lost."""

import httpcore
import pytest

from services.notify.adapters.coalescing import CoalescingBackend

pytestmark = pytest.mark.unit

ANSWER = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n"


class RecordingStream(httpcore.AsyncNetworkStream):
    """A connection to a server that answers 204 to whatever it is sent; notes each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.answers = [ANSWER]

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.answers.pop(0) if self.answers else b""

    async def aclose(self) -> None:
        pass

    def get_extra_info(self, info: str) -> None:
        return None


class RecordingBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.streams: list[RecordingStream] = []

    async def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):  # noqa: ANN001, ANN201
        self.streams.append(RecordingStream())
        return self.streams[-1]

    async def sleep(self, seconds: float) -> None:
        pass


async def test_a_request_is_sent_in_one_write_with_its_body() -> None:
    raw = RecordingBackend()
    async with httpcore.AsyncConnectionPool(network_backend=CoalescingBackend(raw)) as pool:
        response = await pool.request(
            "POST", "http://93.184.216.34/webhooks", headers={"host": "hooks.example.dk"}, content=b'{"a": 1}'
        )
    assert response.status == 204
    [stream] = raw.streams
    [sent] = stream.writes  # without the backend, httpcore writes the head and the body separately
    assert sent.startswith(b"POST /webhooks HTTP/1.1\r\n") and b"host: hooks.example.dk\r\n" in sent.lower()
    assert sent.endswith(b'\r\n\r\n{"a": 1}')


async def test_without_coalescing_the_head_and_body_are_separate_writes() -> None:
    raw = RecordingBackend()
    async with httpcore.AsyncConnectionPool(network_backend=raw) as pool:
        await pool.request("POST", "http://93.184.216.34/webhooks", content=b'{"a": 1}')
    assert len([w for w in raw.streams[0].writes if w]) == 2  # what the backend exists to avoid
