"""Progress: library stages report through stairs_link.progress; the CLI draws click bars on
stderr only on a terminal and not with -q."""

from __future__ import annotations

import io
from pathlib import Path

from click.testing import CliRunner

from stairs_link import progress
from stairs_link.cli import cli
from stairs_link.cli.progress_bars import BarReporter

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """A reporter that remembers every stage's label, total and units advanced."""

    draws_bars = True

    def __init__(self) -> None:
        self.stages: list[dict] = []
        self.messages: list[str] = []

    def stage(self, label, total, unit):
        record = {"label": label, "total": total, "unit": unit, "done": 0, "closed": False}
        self.stages.append(record)

        class _Bar:
            def advance(self, n=1):
                record["done"] += n

            def close(self):
                record["closed"] = True

        return _Bar()

    def message(self, text):
        self.messages.append(text)

    def by_label(self, label: str) -> dict:
        return next(s for s in self.stages if s["label"] == label)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_silent_by_default_and_reporter_only_inside_using() -> None:
    assert isinstance(progress.current(), progress.Silent) and not progress.bars_shown()
    with progress.stage("x", 3) as bar:  # nobody listening: no error, nothing shown
        bar.advance(2)
    recorder = Recorder()
    with progress.using(recorder):
        assert progress.current() is recorder and progress.bars_shown()
        assert list(progress.track(range(4), "items", total=4)) == [0, 1, 2, 3]
        progress.message("hello")
    assert isinstance(progress.current(), progress.Silent)
    assert recorder.stages == [{"label": "items", "total": 4, "unit": "", "done": 4, "closed": True}]
    assert recorder.messages == ["hello"]


def test_bars_only_on_a_terminal_and_never_with_quiet() -> None:
    assert not BarReporter(stream=io.StringIO()).draws_bars
    assert not BarReporter(quiet=True, stream=FakeTerminal()).draws_bars
    terminal = FakeTerminal()
    reporter = BarReporter(stream=terminal)
    assert reporter.draws_bars
    bar = reporter.stage("link: comparing pairs", 10, "pairs")
    bar.advance(4)
    bar.advance(100)  # a total can be an upper bound: never past the end
    bar.close()
    assert "link: comparing pairs" in terminal.getvalue() and "10/10" in terminal.getvalue()
    unknown = FakeTerminal()
    bar = BarReporter(stream=unknown).stage("adapt person: a.csv", None, "rows")
    bar.advance(1234)
    bar.close()
    assert "adapt person: a.csv (rows)" in unknown.getvalue() and "1234" in unknown.getvalue()


def test_adapt_and_link_report_their_stages(tmp_path: Path) -> None:
    from stairs_link.adapt import adapt
    from stairs_link.linkage import link

    staged = []
    recorder = Recorder()
    with progress.using(recorder):
        for site in ("sch-oakfield", "yoi-northgate"):
            out = tmp_path / site
            adapt(ROOT / "mappings" / site / "systmone.yaml", [ROOT / "sample_data" / "exports" / site / "systmone"],
                  out)
            staged.append(out)
        link(staged, tmp_path / "linked")
    adapted = recorder.by_label("adapt person: patients.csv")
    assert adapted["unit"] == "rows" and adapted["done"] > 0 and adapted["closed"]
    compared = recorder.by_label("link: comparing pairs")
    assert compared["total"] > 0 and compared["done"] == compared["total"] and compared["closed"]
    scored = recorder.by_label("link: scoring pairs")
    assert scored["done"] == scored["total"] > 0
    sampled = recorder.by_label("link: random pairs for u")
    assert sampled["done"] == sampled["total"] > 0


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    """CliRunner's stderr is not a terminal: progress lines, never bar characters."""
    site = "sch-oakfield"
    result = CliRunner().invoke(cli, ["adapt", str(ROOT / "mappings" / site / "systmone.yaml"),
                                      str(ROOT / "sample_data" / "exports" / site / "systmone"),
                                      "-o", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "[#" not in result.output and "[-" not in result.output and "\x1b[?25l" not in result.output
