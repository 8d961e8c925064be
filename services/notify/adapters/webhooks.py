"""Sending one webhook per the Standard Webhooks spec, to an address checked at the moment of sending."""

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpcore
import httpx
from standardwebhooks.webhooks import Webhook

from services.notify.adapters.coalescing import CoalescingBackend
from services.notify.adapters.deliveries import ClaimedDelivery
from services.notify.adapters.resolver import Resolver, resolve_target
from services.notify.adapters.secrets import SecretBox
from services.notify.domain.model import AttemptKind, AttemptResult
from services.notify.domain.retry import parse_retry_after
from services.notify.domain.targets import IpAddress, TargetRefused, WebhookTarget

USER_AGENT = "crp-notify/1 (+https://www.standardwebhooks.com)"
MAX_ANSWER_BYTES = 64 * 1024


class WebhookTransport(httpx.AsyncHTTPTransport):
    """The connection pool for webhooks: kept-alive connections per address, a request sent in one write.

    The sender uses the transport without a client on top: a transport never follows redirects (one
    could point at an internal address the check never saw), never reads a proxy from the environment
    (it would bypass the address pinning), keeps no cookies, and costs far less per request.
    """

    def __init__(self, *, max_connections: int):
        super().__init__(trust_env=False)
        # httpx takes no network backend, so the pool is made here as httpx makes it (httpx and httpcore
        # are pinned), with a backend that sends a request's head and body in one write.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            network_backend=CoalescingBackend(httpcore.AnyIOBackend()),
        )


def signed_headers(signer: Webhook, message_id: str, body: str, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers: webhook-id, webhook-timestamp and the v1 HMAC-SHA256 signature."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer.sign(message_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _failure(response: httpx.Response, now: datetime) -> AttemptResult:
    status = response.status_code
    if status == 410:
        return AttemptResult(AttemptKind.GONE, "http_410", status)
    reason = "http_429" if status == 429 else f"http_{status // 100}xx"
    retry_after = parse_retry_after(response.headers.get("retry-after"), now)
    return AttemptResult(AttemptKind.RETRY, reason, status, retry_after)


class WebhookSender:
    """Signs and POSTs a delivery's body; answers what the attempt came to, never raises for the receiver's faults."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport,
        resolver: Resolver,
        secrets: SecretBox,
        *,
        allow_private: bool,
        timeout_s: float,
        connect_timeout_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ):
        self._transport = transport
        self._resolver = resolver
        self._secrets = secrets
        self._allow_private = allow_private
        self._timeout_s = timeout_s
        self._timeouts = {"connect": connect_timeout_s, "read": timeout_s, "write": timeout_s, "pool": timeout_s}
        self._clock = clock
        self._signers: dict[str, Webhook] = {}
        self._urls: dict[tuple[str, str], tuple[httpx.URL, str]] = {}  # (url, address) -> (pinned URL, Host)

    def _signer(self, delivery: ClaimedDelivery) -> Webhook:
        subscription_id = delivery.subscription_id or ""
        if subscription_id not in self._signers:
            secret = self._secrets.open(delivery.secret_ciphertext or b"", subscription_id)
            self._signers[subscription_id] = Webhook(secret)
        return self._signers[subscription_id]

    async def send(self, delivery: ClaimedDelivery) -> AttemptResult:
        """One attempt: re-check the target's addresses (DNS may have changed), pin one, sign, POST."""
        if delivery.subscription_state != "active":
            return AttemptResult(AttemptKind.CANCELLED, f"subscription_{delivery.subscription_state or 'deleted'}")
        try:
            target, addresses = await resolve_target(
                delivery.subscription_url or "", self._resolver, allow_private=self._allow_private
            )
        except TargetRefused as refused:
            reason = "dns_error" if refused.reason == "unresolvable" else "target_refused"
            return AttemptResult(AttemptKind.RETRY, reason)
        now = datetime.fromtimestamp(self._clock(), UTC)
        headers = signed_headers(self._signer(delivery), delivery.id, delivery.body, now)
        url, host = self._pinned(target, addresses[0])
        headers["host"] = host
        extensions: dict = {"timeout": self._timeouts}
        if target.literal_address is None and target.scheme == "https":
            extensions["sni_hostname"] = target.host
        return await self._post(url, headers, delivery.body.encode(), extensions, now)

    def _pinned(self, target: WebhookTarget, address: IpAddress) -> tuple[httpx.URL, str]:
        """The URL that connects to the address just checked, and the Host header that keeps the name."""
        key = (target.url, str(address))
        if key not in self._urls:
            if len(self._urls) > 4096:
                self._urls.clear()
            url = httpx.URL(target.url)
            host = url.netloc.decode()
            if target.literal_address is None:
                # Connect to the address just checked, not to whatever the name resolves to a moment later
                # (DNS rebinding); Host and the TLS server name (and certificate check) keep the name.
                url = url.copy_with(host=str(address))
            self._urls[key] = (url, host)
        return self._urls[key]

    async def _post(
        self, url: httpx.URL, headers: dict[str, str], body: bytes, extensions: dict, now: datetime
    ) -> AttemptResult:
        request = httpx.Request("POST", url, headers=headers, content=body, extensions=extensions)
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._transport.handle_async_request(request)
                try:
                    read = 0
                    async for chunk in response.stream:  # type: ignore[union-attr]  # the transport's async stream
                        read += len(chunk)
                        if read > MAX_ANSWER_BYTES:
                            break  # we need the status, not a large answer
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return AttemptResult(AttemptKind.RETRY, "timeout")
        except httpx.ConnectError:
            return AttemptResult(AttemptKind.RETRY, "connection_error")
        except httpx.HTTPError:
            return AttemptResult(AttemptKind.RETRY, "http_error")
        if 200 <= response.status_code < 300:
            return AttemptResult.ok(response.status_code)
        return _failure(response, now)
