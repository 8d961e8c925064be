"""Every answer the portal serves to a browser context, body included, for tests that look for what must never be in
any page (a planted resident name): pages, redirects, fragments and static files alike."""

from dataclasses import dataclass, field


@dataclass
class Served:
    """What the portal sent to one browser profile."""

    origin: str
    answers: list[tuple[str, int, str]] = field(default_factory=list)
    """(url, status, body as text) of each answer, in order."""

    @classmethod
    async def watch(cls, context, origin: str) -> "Served":  # noqa: ANN001 - a Playwright BrowserContext
        """Route the context's requests to `origin` through a fetch that keeps a copy of each answer."""
        served = cls(origin.rstrip("/"))

        async def keep(route) -> None:  # noqa: ANN001 - a Playwright Route
            response = await route.fetch(max_redirects=0)
            body = await response.body()
            served.answers.append((route.request.url, response.status, body.decode("utf-8", "replace")))
            await route.fulfill(response=response, body=body)

        await context.route(f"{served.origin}/**", keep)
        return served

    def containing(self, text: str) -> list[str]:
        """The URLs of the answers whose body (or a header-less redirect page) contains `text`."""
        return [f"{status} {url}" for url, status, body in self.answers if text in body]

    @property
    def pages(self) -> list[str]:
        return [f"{status} {url}" for url, status, _ in self.answers]
