"""intake as the reference directory's owner, through the in-memory unit of work: a change is stored and used at
once; the keeper publishes the stored directory until the broker has it and follows what another process stored."""

from typing import Any

import pytest

from services.intake.adapters.sealing import Sealer
from services.intake.domain.directory import Directory
from services.intake.handlers.deps import Deps
from services.intake.handlers.ports import InMemoryUnitOfWork
from services.intake.handlers.reference import ReferenceKeeper, change_directory
from shared.contracts.reference import ReferenceContent, ReferenceDirectory
from tests.support.intake_harness import intake_settings
from tests.support.reference import owner_directory

pytestmark = pytest.mark.unit


def fake_deps() -> tuple[Deps, InMemoryUnitOfWork]:
    uow = InMemoryUnitOfWork()
    settings = intake_settings("postgresql://nowhere/none", "127.0.0.1:1", "unit.")
    deps = Deps(settings, None, Sealer(settings.master_key_bytes), Directory(), {}, {}, uow=uow)  # type: ignore[arg-type]
    return deps, uow


def smaller(directory: ReferenceDirectory) -> ReferenceDirectory:
    """The directory with its first organisation's first department left out (a new version)."""
    content = directory.content().model_dump(mode="json")
    content["organisations"][0]["departments"] = content["organisations"][0]["departments"][1:]
    return ReferenceContent.model_validate(content).directory()


class Broker:
    def __init__(self) -> None:
        self.published: list[str] = []
        self.down = False

    async def publish(self, directory: ReferenceDirectory) -> Any:
        if self.down:
            raise ConnectionError("the broker is away")
        self.published.append(directory.version)


async def test_a_change_is_stored_and_used_at_once() -> None:
    deps, uow = fake_deps()
    directory = owner_directory()

    await change_directory(deps, directory, changed_by="cli_admin")

    stored = await uow.reference.stored()
    assert stored is not None and stored[0].version == directory.version
    assert deps.directory.loaded and deps.directory.version == directory.version
    assert {d.id for d in deps.directory.departments.values()} == {d.id for d in await uow.reference.departments()}


async def test_the_keeper_publishes_the_stored_directory_once_the_broker_is_back_and_then_leaves_it() -> None:
    deps, uow = fake_deps()
    broker = Broker()
    keeper = ReferenceKeeper(deps, broker.publish)
    await keeper.sync()  # nothing stored yet: nothing to publish
    await change_directory(deps, owner_directory(), changed_by="cli_admin")
    broker.down = True

    with pytest.raises(ConnectionError):
        await keeper.sync()
    assert (await uow.reference.stored())[1] is None  # type: ignore[index] - not marked: the next sync retries
    broker.down = False
    await keeper.sync()
    await keeper.sync()

    assert broker.published == [owner_directory().version]
    assert (await uow.reference.stored())[1] == owner_directory().version  # type: ignore[index]


async def test_the_keeper_follows_a_directory_another_process_stored() -> None:
    deps, uow = fake_deps()
    broker = Broker()
    keeper = ReferenceKeeper(deps, broker.publish)
    await change_directory(deps, owner_directory(), changed_by="cli_admin")
    await keeper.sync()
    newer = smaller(owner_directory())
    async with uow() as unit:  # another intake process's PUT, in the same database
        await unit.reference.store(newer, updated_by="cli_other_admin")

    await keeper.sync()

    assert deps.directory.version == newer.version
    assert len(deps.directory.departments) == len(await uow.reference.departments())
    assert broker.published == [owner_directory().version, newer.version]
