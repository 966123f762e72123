"""Offline and quiet: checks run with sockets blocked; GX is imported only by `check`."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stairs_link.quality import check

REPO = Path(__file__).resolve().parents[2]


def test_check_runs_with_sockets_blocked(clean_staged: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network access attempted during quality checks")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    result = check([clean_staged], tmp_path / "report")
    assert result.passed
    assert attempts == []


def test_cli_and_quality_import_without_great_expectations() -> None:
    code = (
        "import sys, time; t = time.perf_counter();"
        "import stairs_link.cli, stairs_link.quality, stairs_link.cli.check_cmd;"
        "import stairs_link.quality.suites, stairs_link.quality.results;"
        "assert 'great_expectations' not in sys.modules, 'great_expectations imported';"
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr  # import time is reported, not asserted (CI noise)


def test_gx_analytics_switched_off(clean_staged: Path, tmp_path: Path) -> None:
    import os

    from stairs_link.quality.gx_runner import GXRunner

    runner = GXRunner()
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
    assert runner.context.config.analytics_enabled is False
