"""Conditional requests (RFC 9110 §13): entity tags, If-None-Match (304) and If-Match (412)."""

import hashlib

from fastapi import Response

VALIDATED = "private, no-cache"
"""Cache-Control of an answer with a validator: a cache keeps it for this caller, but asks again each time."""


def entity_tag(value: int | str) -> str:
    """A strong entity tag, e.g. `"3"` for version 3 of a document."""
    return f'"{value}"'


def content_tag(content: bytes) -> str:
    """A weak entity tag for an answer that has no version of its own: a digest of its content.

    Weak: the digest is of the content as the service renders it, not of the bytes a given encoding sends.
    """
    return "W/" + entity_tag(hashlib.sha256(content).hexdigest()[:32])


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def none_match(header: str | None, current: str) -> bool:
    """Whether `If-None-Match` names the current tag (weak comparison, `*` included): answer 304."""
    if not header:
        return False
    tags = _tags(header)
    return "*" in tags or _opaque(current) in {_opaque(t) for t in tags}


def match_fails(header: str | None, current: str | None) -> bool:
    """Whether `If-Match` is given and does not name the current tag (strong comparison): answer 412.

    `current` None: there is no current representation, so even `*` fails.
    """
    if not header:
        return False
    tags = _tags(header)
    if current is None:
        return True
    return "*" not in tags and current not in tags


def not_modified(tag: str) -> Response:
    """A 304 answer: no body, the tag and the caching advice of the full answer."""
    return Response(status_code=304, headers={"ETag": tag, "Cache-Control": VALIDATED})


def validated(response: Response, tag: str) -> None:
    """Send the tag and the caching advice with a full answer."""
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = VALIDATED
