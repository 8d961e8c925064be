"""The portal tier's axe-core fetcher keeps only the pinned release: a tarball whose SHA-512 differs is refused,
the checked file is reused from the cache without the network, and a damaged cached copy is fetched again."""

import io
import tarfile

import pytest
from tenacity import stop_after_attempt

from tests.portal.support import axe

pytestmark = pytest.mark.unit


def _tarball(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_tarball_that_is_not_the_pinned_release_is_refused(tmp_path) -> None:
    other = tmp_path / "axe-core.tgz"
    other.write_bytes(_tarball({axe.AXE_MEMBER: b"window.axe = {};"}))
    once = axe._download.retry_with(stop=stop_after_attempt(1))
    with pytest.raises(axe.AxeFetchError, match="checksum mismatch"):
        once(other.as_uri())


def test_a_member_that_is_not_the_pinned_source_is_refused() -> None:
    with pytest.raises(axe.AxeFetchError, match="SHA-256"):
        axe._extract(_tarball({axe.AXE_MEMBER: b"window.axe = {run: () => ({violations: []})};"}))


def test_the_checked_copy_in_the_cache_is_used_and_a_damaged_one_fetched_again(tmp_path, monkeypatch) -> None:
    source = b"pretend this is axe.min.js"
    monkeypatch.setattr(axe, "AXE_JS_SHA256", axe._sha256(source))
    fetched: list[str] = []

    def download() -> bytes:
        fetched.append("tgz")
        return _tarball({axe.AXE_MEMBER: source})

    monkeypatch.setattr(axe, "_download", download)
    target = tmp_path / "axe-core" / "axe.min.js"
    assert axe.fetch_axe(target).read_bytes() == source
    assert axe.fetch_axe(target).read_bytes() == source
    assert fetched == ["tgz"]
    target.write_bytes(b"truncated")
    assert axe.fetch_axe(target).read_bytes() == source
    assert fetched == ["tgz", "tgz"]
