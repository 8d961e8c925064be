"""The Kafka broker's jars: pinned in deploy/kafka/jars.lock, fetched from Maven Central into a user cache."""

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tenacity import retry, stop_after_attempt, wait_exponential

from deploy.config import StackError, cache_dir

KAFKA_VERSION = "4.1.2"
LOCK_FILE = Path(__file__).parent / "kafka" / "jars.lock"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"


@dataclass(frozen=True)
class Jar:
    """One pinned Maven artifact."""

    group: str
    artifact: str
    version: str
    sha256: str

    @property
    def file_name(self) -> str:
        """The jar's file name in the libs dir."""
        return f"{self.artifact}-{self.version}.jar"

    @property
    def url(self) -> str:
        """Where Maven Central serves the jar."""
        return f"{MAVEN_CENTRAL}/{self.group.replace('.', '/')}/{self.artifact}/{self.version}/{self.file_name}"


def read_lock(path: Path = LOCK_FILE) -> list[Jar]:
    """The jars listed in the lock file (`group:artifact:version sha256` lines, # comments)."""
    jars = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            coordinates, sha256 = line.split()
            group, artifact, version = coordinates.split(":")
            jars.append(Jar(group, artifact, version, sha256))
    return jars


def libs_dir() -> Path:
    """The cache dir the broker's classpath points at."""
    return cache_dir() / f"kafka-{KAFKA_VERSION}" / "libs"


def _sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@retry(stop=stop_after_attempt(4), wait=wait_exponential(multiplier=1, max=10), reraise=True)
def _download(jar: Jar, target: Path) -> None:
    """Download `jar` to `target`, verify its checksum, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    try:
        with urllib.request.urlopen(jar.url, timeout=60) as response, tmp.open("wb") as out:  # noqa: S310
            while block := response.read(1 << 20):
                out.write(block)
        actual = _sha256(tmp)
        if actual != jar.sha256:
            raise StackError(f"checksum mismatch for {jar.url}: expected {jar.sha256}, got {actual}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def missing(jars: list[Jar], libs: Path) -> list[Jar]:
    """The jars not yet in `libs` (a present jar was verified when it was stored)."""
    return [jar for jar in jars if not (libs / jar.file_name).is_file()]


def fetch(libs: Path | None = None, on_download=None) -> Path:
    """Make sure every pinned jar is in the cache; `on_download` hears how many are missing."""
    libs = libs or libs_dir()
    libs.mkdir(parents=True, exist_ok=True)
    pending = missing(read_lock(), libs)
    if pending and on_download:
        on_download(len(pending), libs)
    for jar in pending:
        _download(jar, libs / jar.file_name)
    return libs
