"""The four services' HTTP APIs, called with the logged-in person's access token (never a token of the portal's).

Every call sends `Accept-Language: da`, so the services' refusals (problem+json, with `errors[].field`) come back
in Danish and can be shown beside the field they name.
"""

from dataclasses import dataclass, field
from typing import Any

import httpx

SERVICES = ("intake", "routing", "notify", "stats")


class ServiceUnavailable(Exception):
    """The service did not answer (down, timed out): pages say so in Danish and keep what was typed."""

    def __init__(self, service: str) -> None:
        super().__init__(f"{service} did not answer")
        self.service = service


class NotAuthenticated(Exception):
    """The service refused the person's token (401): the session's tokens no longer work."""


@dataclass
class ApiError(Exception):
    """A refusal (4xx/5xx) with its problem+json body."""

    status: int
    problem: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.problem.get('detail') or self.problem.get('title') or ''}"

    @property
    def detail(self) -> str:
        """The service's explanation (Danish where the service has it)."""
        return str(self.problem.get("detail") or self.problem.get("title") or "")

    @property
    def field_errors(self) -> list[tuple[str, str]]:
        """(field, problem) pairs of a 422/409's `errors`."""
        found = []
        for item in self.problem.get("errors") or []:
            if isinstance(item, dict) and item.get("field"):
                found.append((str(item["field"]), str(item.get("problem") or "")))
        return found


@dataclass(frozen=True)
class ApiResponse:
    """A successful answer."""

    status: int
    body: Any
    headers: httpx.Headers


class ServiceApi:
    """One service's API on the person's behalf."""

    def __init__(self, name: str, http: httpx.AsyncClient) -> None:
        self.name = name
        self._http = http

    async def request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """The answer of a 2xx/304; ApiError for a refusal, NotAuthenticated for 401, ServiceUnavailable when down."""
        sent = {"Authorization": f"Bearer {token}", "Accept-Language": "da", "Accept": "application/json"}
        sent.update(headers or {})
        try:
            response = await self._http.request(
                method,
                path,
                json=json,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=sent,
            )
        except httpx.HTTPError:
            raise ServiceUnavailable(self.name) from None
        if response.status_code == 401:
            raise NotAuthenticated(self.name)
        if response.status_code in (502, 503, 504):
            raise ServiceUnavailable(self.name)
        body: Any = None
        if response.content:
            try:
                body = response.json()
            except ValueError:
                body = response.text
        if response.status_code >= 400:
            raise ApiError(response.status_code, body if isinstance(body, dict) else {"detail": str(body or "")})
        return ApiResponse(response.status_code, body, response.headers)

    async def get(self, path: str, token: str, **kwargs: Any) -> Any:
        """GET, returning the JSON body."""
        return (await self.request("GET", path, token, **kwargs)).body

    async def post(self, path: str, token: str, **kwargs: Any) -> Any:
        """POST, returning the JSON body."""
        return (await self.request("POST", path, token, **kwargs)).body

    async def put(self, path: str, token: str, **kwargs: Any) -> Any:
        """PUT, returning the JSON body."""
        return (await self.request("PUT", path, token, **kwargs)).body

    async def delete(self, path: str, token: str, **kwargs: Any) -> Any:
        """DELETE, returning the JSON body (usually None)."""
        return (await self.request("DELETE", path, token, **kwargs)).body

    async def ready(self) -> bool:
        """True when the service answers its readiness probe."""
        try:
            return (await self._http.get("/readyz")).status_code == 200
        except httpx.HTTPError:
            return False


class ServicesClient:
    """intake, routing, notify and stats: `client.intake.get("/v1/departments", token)`."""

    def __init__(self, urls: dict[str, str], timeout: float = 10.0) -> None:
        self._clients = {name: httpx.AsyncClient(base_url=urls[name].rstrip("/"), timeout=timeout) for name in SERVICES}
        self.intake = ServiceApi("intake", self._clients["intake"])
        self.routing = ServiceApi("routing", self._clients["routing"])
        self.notify = ServiceApi("notify", self._clients["notify"])
        self.stats = ServiceApi("stats", self._clients["stats"])

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
