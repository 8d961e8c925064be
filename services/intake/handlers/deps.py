"""What the handlers need, wired once by bootstrap (real adapters) or by unit tests (fakes)."""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from services.intake.adapters.mappings import InboundMapping
from services.intake.adapters.sealing import Sealer
from services.intake.adapters.unit_of_work import PostgresConcerns, PostgresUnitOfWork
from services.intake.domain.directory import Directory
from services.intake.domain.guidance import Guidance
from services.intake.handlers.ports import ConcernRepository, UnitOfWork
from services.intake.settings import IntakeSettings
from shared.contracts.vocabulary import Category
from shared.web.rate_limit import TokenBuckets


def utc_now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


@dataclass
class Deps:
    """The intake service's adapters and data, as the handlers use them."""

    settings: IntakeSettings
    pool: asyncpg.Pool
    sealer: Sealer
    directory: Directory
    guidance: dict[Category, Guidance]
    mappings: dict[str, InboundMapping]
    clock: Callable[[], datetime] = field(default=utc_now)
    uow: Callable[[], UnitOfWork] | None = None
    """Makes the units of work in unit tests (a fake); None: PostgreSQL on `pool`."""
    receipt_guesses: TokenBuckets = field(init=False)
    """Per client: receipt-code look-ups that failed or are under way (an empty bucket answers 429: guessing)."""

    def __post_init__(self) -> None:
        self.receipt_guesses = TokenBuckets(
            self.settings.receipt_lookup_failures_per_minute, self.settings.receipt_lookup_failures_burst
        )

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work: one transaction, used once with `async with`."""
        return self.uow() if self.uow else PostgresUnitOfWork(self.pool, self.settings.consumer_group)

    def concerns_autocommit(self) -> ConcernRepository:
        """The concerns outside a unit of work: each call one statement, committed on its own (a write that is
        one statement needs no transaction around it, nor its two extra round trips)."""
        return self.uow().concerns if self.uow else PostgresConcerns(self.pool)

    @property
    def fingerprint_key(self) -> bytes:
        """Key of the request fingerprints (derived, so it is not the subject key secret itself)."""
        secret = self.settings.subject_key_secret.get_secret_value().encode()
        return hashlib.sha256(b"crp-intake-request-fingerprint\x00" + secret).digest()
