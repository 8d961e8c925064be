"""A network backend for the webhook pool that sends a request's head and body in one write.

httpcore writes an HTTP/1.1 request's head and its body separately: two syscalls and two packets per
webhook, and on a busy machine a send is the costliest step of an attempt. A client always reads the
answer after writing the request, so holding the writes until that read loses nothing.
"""

import ssl
import typing

import httpcore


class CoalescingStream(httpcore.AsyncNetworkStream):
    """Holds what is written until the next read, then sends it at once."""

    def __init__(self, stream: httpcore.AsyncNetworkStream):
        self._stream = stream
        self._pending: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Keep the bytes for the next read."""
        if buffer:
            self._pending.append(buffer)

    async def _flush(self, timeout: float | None) -> None:
        if self._pending:
            data = b"".join(self._pending)
            self._pending.clear()
            await self._stream.write(data, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Send what waits, then read."""
        await self._flush(timeout)
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        """Close; what was never sent goes with the connection."""
        self._pending.clear()
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        """TLS over this stream; its writes are held the same way."""
        await self._flush(timeout)
        return CoalescingStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        """As the wrapped stream."""
        return self._stream.get_extra_info(info)


class CoalescingBackend(httpcore.AsyncNetworkBackend):
    """Wraps another backend's streams in CoalescingStream."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend):
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A TCP connection whose writes are coalesced."""
        return CoalescingStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        """A Unix socket connection whose writes are coalesced."""
        return CoalescingStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        """As the wrapped backend."""
        await self._backend.sleep(seconds)
