"""`stairs-link demo` runs the whole pipeline on the sample data: checked once, end to end."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from test_readme import quickstart_command

from stairs_link.cli import demo_cmd

# Floor for the share of true moves the full pipeline (adapt, link, build) reproduces; the
# measured figure is printed (run with -s).
TRANSITIONS_FLOOR = 0.85


@dataclass
class DemoRun:
    exit_code: int
    output: str
    exception: None = None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoRun, float]:
    """Runs the README's main-job command itself (after its install step), in a fresh folder."""
    _install, run = [part.strip() for part in quickstart_command("main").split("&&")]
    argv = shlex.split(run)
    out = tmp_path_factory.mktemp("demo") / argv[argv.index("--out") + 1]
    argv[argv.index("--out") + 1] = str(out)
    assert argv[0] == "stairs-link"
    executable = shutil.which("stairs-link")
    assert executable, "the console script is missing: run `pip install -e .` first"
    start = time.perf_counter()
    done = subprocess.run([executable, *argv[1:]], capture_output=True, text=True, encoding="utf-8")
    seconds = time.perf_counter() - start
    print(f"\ndemo took {seconds:.1f}s")
    return out, DemoRun(done.returncode, done.stdout + done.stderr), seconds


def _truth_dir(out: Path) -> Path:
    bundled = demo_cmd.SAMPLE_DIR / "truth"
    return bundled if bundled.is_dir() else out / "sample_data" / "truth"


def test_demo_exits_cleanly_and_says_where_everything_is(demo):
    out, result, _seconds = demo  # the time is printed, not asserted (speed is bench/'s job)
    assert result.exit_code == 0, result.output + repr(result.exception)
    for part in ("staged", "check", "linked", "dataset", "report.html", "linked/linkage.html",
                 "linked/review.html"):
        assert str(out / part) in result.output
        assert (out / part).exists()


def test_one_row_per_child_and_every_staged_record_in_exactly_one(demo):
    out, result, _ = demo
    children = pd.read_parquet(out / "dataset" / "children.parquet", columns=["child_id", "source_records"])
    assert children["child_id"].is_unique
    in_children = [r["record_key"] for records in children["source_records"] for r in records]
    staged = pd.concat([pd.read_parquet(p, columns=["record_key"])
                        for p in sorted((out / "staged").glob("*/*/person.parquet"))])
    assert len(in_children) == len(set(in_children))
    assert sorted(in_children) == sorted(staged["record_key"])


def test_transitions_reproduce_the_true_pathways(demo):
    from stairs_link.integrate.evaluate import compare_dataset

    out, _, _ = demo
    agreement = compare_dataset(out / "dataset", _truth_dir(out))
    print(f"\ndemo: true moves reproduced {agreement.matched}/{agreement.true_moves} = "
          f"{agreement.share_reproduced:.1%}; built moves that are true {agreement.share_correct:.1%}")
    assert agreement.true_moves > 100
    assert agreement.share_reproduced >= TRANSITIONS_FLOOR


def test_report_is_suppressed(demo):
    from stairs_link.report import suppressed_values

    out, _, _ = demo
    counts, labels = suppressed_values((out / "report.html").read_text(encoding="utf-8"))
    assert counts and labels
    for text in counts + [t for t in labels if not t.endswith("%")]:
        assert text in {"0", "*"} or (text.isdigit() and int(text) % 5 == 0 and int(text) >= 10), text


def test_sample_is_regenerated_when_not_bundled(tmp_path, monkeypatch):
    bundled_dir = demo_cmd.SAMPLE_DIR
    monkeypatch.setattr(demo_cmd, "SAMPLE_DIR", tmp_path / "no-sample-here")
    sample, mappings = demo_cmd.sample_locations(tmp_path / "out", progress=False)
    assert sample == tmp_path / "out" / "sample_data"
    assert (sample / "truth" / "pathway.parquet").exists()
    systems = demo_cmd.sample_systems(sample, mappings)
    bundled = demo_cmd.sample_systems(bundled_dir, mappings)
    assert [s[:2] for s in systems] == [s[:2] for s in bundled]
