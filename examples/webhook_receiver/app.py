"""An example webhook receiver for municipalities: verifies Standard Webhooks signatures, processes each once.

Run it:  WEBHOOK_SECRET=whsec_... uvicorn examples.webhook_receiver.app:app --port 9000
and subscribe https://<your host>/webhooks (behind your TLS-terminating proxy) to referral events.
"""

import binascii
import json
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_BODY_BYTES = 1024 * 1024

Handler = Callable[[sqlite3.Connection, dict[str, Any]], None]
"""Your processing of one verified event; runs inside the transaction that records its webhook-id."""


def store_referral_event(conn: sqlite3.Connection, event: dict[str, Any]) -> None:
    """The example's processing: keep the event in a table (replace with your case system's intake)."""
    data = event.get("data", {})
    conn.execute(
        "INSERT INTO referral_events (event_id, type, referral_id, municipality_code, body) VALUES (?, ?, ?, ?, ?)",
        (
            data.get("event_id"),
            event.get("type"),
            data.get("referral_id"),
            data.get("municipality_code"),
            json.dumps(event),
        ),
    )


class Inbox:
    """SQLite: which webhook-ids were processed (each once), and how often each was delivered."""

    def __init__(self, path: Path, handler: Handler = store_referral_event):
        self.path = path
        self._handler = handler
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(
                """CREATE TABLE IF NOT EXISTS processed_webhooks (
                       webhook_id TEXT PRIMARY KEY, type TEXT, processed_at TEXT NOT NULL, deliveries INTEGER NOT NULL);
                   CREATE TABLE IF NOT EXISTS referral_events (
                       id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT, type TEXT, referral_id TEXT,
                       municipality_code TEXT, body TEXT NOT NULL);"""
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30, isolation_level=None)

    def process_once(self, webhook_id: str, event: dict[str, Any]) -> bool:
        """Process the event unless its webhook-id was processed before; True when processed now."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")  # one writer at a time: the check and the effect are atomic
            seen = conn.execute(
                "UPDATE processed_webhooks SET deliveries = deliveries + 1 WHERE webhook_id = ?", (webhook_id,)
            ).rowcount
            if not seen:
                conn.execute(
                    "INSERT INTO processed_webhooks (webhook_id, type, processed_at, deliveries) VALUES (?, ?, ?, 1)",
                    (webhook_id, event.get("type"), datetime.now(UTC).isoformat()),
                )
                self._handler(conn, event)
            conn.execute("COMMIT")
            return not seen
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()


def create_app(secret: str, database: Path, handler: Handler = store_referral_event) -> Starlette:
    """The receiver: POST /webhooks (verify, de-duplicate, process) and GET /healthz."""
    webhook = Webhook(secret)
    inbox = Inbox(database, handler)

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            # Checks the HMAC over id.timestamp.body and that the timestamp is within 5 minutes of now,
            # so a captured request cannot be replayed later.
            event = webhook.verify(body, dict(request.headers))
        except (WebhookVerificationError, ValueError, binascii.Error):
            return JSONResponse({"error": "invalid signature or timestamp"}, status_code=400)
        processed = await run_in_threadpool(inbox.process_once, request.headers["webhook-id"], event)
        return JSONResponse({"status": "processed" if processed else "duplicate"})

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app = Starlette(routes=[Route("/webhooks", receive, methods=["POST"]), Route("/healthz", healthz)])
    app.state.inbox = inbox
    return app


def from_environment() -> Starlette:
    """The app configured from WEBHOOK_SECRET and WEBHOOK_DATABASE (default ./webhooks.sqlite3)."""
    secret = os.environ.get("WEBHOOK_SECRET", "")
    if not secret.startswith("whsec_"):
        raise SystemExit("Set WEBHOOK_SECRET to the whsec_... secret shown when you subscribed.")
    return create_app(secret, Path(os.environ.get("WEBHOOK_DATABASE", "webhooks.sqlite3")))


def __getattr__(name: str) -> Starlette:
    # `uvicorn examples.webhook_receiver.app:app` builds the app on first access, not at import.
    if name == "app":
        return from_environment()
    raise AttributeError(name)
