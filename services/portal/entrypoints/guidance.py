"""Intake's guidance texts and departments, read from intake's API (the one owner; the portal copies no text)."""

import asyncio
from typing import Any

from services.portal.entrypoints.deps import Viewer
from shared.contracts.vocabulary import Category

GUIDANCE_TTL_S = 600.0


async def guidance_library(viewer: Viewer) -> dict[str, dict[str, Any]]:
    """Every category's guidance (title, summary, do_now, avoid, call_112, consent), in the vocabulary's order.

    The texts are the same for everyone, so the portal keeps them ten minutes; they are fetched with the
    person's own token like every other call.
    """

    async def load() -> dict[str, dict[str, Any]]:
        answers = await asyncio.gather(*(viewer.get("intake", f"/v1/guidance/{c.value}") for c in Category))
        return {c.value: a for c, a in zip(Category, answers, strict=True)}

    return await viewer.context.cached("guidance", GUIDANCE_TTL_S, load)


async def departments(viewer: Viewer) -> list[dict[str, Any]]:
    """The departments this person may report on (intake's GET /v1/departments, scoped to the person)."""
    return await viewer.get("intake", "/v1/departments")


def category_options(library: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """Checkbox options: the guidance's title (what the concern is about, in plain Danish) as the label."""
    return [{"value": c, "label": g["title"]} for c, g in library.items()]


def category_titles(library: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {c: g["title"] for c, g in library.items()}
