"""A real supervisord of the stack: its log, its programs' logs and what they create are private to the user."""

import os
import sys
import time
from pathlib import Path

import pytest

from deploy import supervisor
from deploy.config import StackConfig
from deploy.private_files import exposed, make_home, private_umask
from deploy.supervisor_conf import Program, write_conf

pytestmark = pytest.mark.integration

# What a service or broker does later: a data directory, a file in it, a line on its log.
WRITER = "; ".join(
    [
        "import os, pathlib, sys, time",
        "data = pathlib.Path(sys.argv[1])",
        "data.mkdir()",
        "(data / 'segment.log').write_text('x')",
        "print('umask', oct(os.umask(0)), flush=True)",
        "time.sleep(60)",
    ]
)


def _run(cfg: StackConfig, data: Path) -> None:
    write_conf(cfg, [Program("writer", [sys.executable, "-c", WRITER, str(data)], cfg.log("writer"), startsecs=0)])
    supervisor.start_daemon(cfg)
    try:
        supervisor.start(cfg, "writer")
        deadline = time.monotonic() + 20
        while not (data / "segment.log").exists() or "umask" not in cfg.log("writer").read_text():
            assert time.monotonic() < deadline, "the program did not write its file and log line"
            time.sleep(0.1)
    finally:
        supervisor.shutdown(cfg)


def test_the_stacks_processes_create_only_private_files_however_they_were_started(tmp_path: Path) -> None:
    # Started by a shell with the usual umask: supervisord's own umask (not the caller's) rules its programs.
    cfg = StackConfig(home=tmp_path / "plain", database_url="postgresql://elsewhere/postgres")
    previous = os.umask(0o022)
    try:
        make_home(cfg)
        _run(cfg, cfg.home / "kafka")
    finally:
        os.umask(previous)
    assert "umask 0o77" in cfg.log("writer").read_text()
    stack_files = [cfg.home / "kafka", cfg.home / "kafka" / "segment.log", cfg.log("writer")]
    assert [line for line in exposed(cfg.home) if any(line.endswith(str(path)) for path in stack_files)] == []

    # As `up` starts it: every file and directory of the home, supervisord's own log too, is the user's alone.
    cfg = StackConfig(home=tmp_path / "up", database_url="postgresql://elsewhere/postgres")
    with private_umask():
        make_home(cfg)
        _run(cfg, cfg.home / "kafka")
    assert cfg.log("supervisord").exists() and cfg.supervisor_conf.exists()
    assert exposed(cfg.home) == []
