"""`python -m deploy.mailsink`: the local stack's SMTP server; every message lands as a .eml file, nothing leaves."""

import asyncio
import signal
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class MaildirHandler:
    """Writes each accepted message to <directory>/<time>-<id>.eml (readable only by the stack's user)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd API
        """Store the message; answer 250 so the sender counts it as delivered."""
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.eml"
        path = self.directory / name
        path.write_bytes(envelope.original_content or b"")
        path.chmod(0o600)
        return "250 Message accepted for delivery"


def main(
    directory: Annotated[Path, typer.Option(help="Where messages are written.")],
    port: Annotated[int, typer.Option(help="SMTP port on 127.0.0.1.")] = 8025,
) -> None:
    """Serve SMTP on 127.0.0.1 until SIGTERM."""
    controller = Controller(MaildirHandler(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"mail sink on 127.0.0.1:{port}, writing to {directory}", flush=True)  # noqa: T201 - supervisord log

    async def wait_for_stop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()

    try:
        asyncio.run(wait_for_stop())
    finally:
        controller.stop()


if __name__ == "__main__":
    typer.run(main)
