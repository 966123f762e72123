"""The CLI's progress reporter: click progress bars on stderr, only on a terminal, off with -q.

Library code reports stages and messages through :mod:`stairs_link.progress`; each command
installs :class:`BarReporter` for its run (see :func:`reporting`). When stderr is not a
terminal (a pipe, a log file, a scheduler) no bar is drawn, so logs hold no control characters.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterator
from typing import Any

import click

from stairs_link import progress


class _ClickBar:
    def __init__(self, label: str, total: int | None, unit: str, stream: Any) -> None:
        shown = f"{label} ({unit})" if unit and unit not in label else label
        if total is None:  # unknown length: click shows a moving bar and the position
            self._bar: Any = click.progressbar(iterable=itertools.repeat(None), label=shown, file=stream,
                                               show_pos=True, show_eta=False, width=24)
        else:
            self._bar = click.progressbar(length=max(int(total), 1), label=shown, file=stream,
                                          show_pos=True, show_eta=True, width=24)
        self._bar.__enter__()
        self._done = 0
        self._total = total

    def advance(self, n: int = 1) -> None:
        if self._total is not None:  # never past the end (a total may be an upper bound)
            n = max(0, min(n, int(self._total) - self._done))
        self._done += n
        if n:
            self._bar.update(n)

    def close(self) -> None:
        if self._total is not None and self._done < self._total:
            self._bar.update(int(self._total) - self._done)  # the stage is done: show it full
        self._bar.__exit__(None, None, None)


class BarReporter:
    """Bars on stderr when ``enabled`` and stderr is a terminal; messages as stderr lines
    unless ``quiet``."""

    def __init__(self, *, quiet: bool = False, stream: Any = None) -> None:
        stream = sys.stderr if stream is None else stream
        self.stream = stream
        self.quiet = quiet
        self.draws_bars = not quiet and bool(getattr(stream, "isatty", lambda: False)())

    def stage(self, label: str, total: int | None, unit: str) -> progress.Bar:
        if not self.draws_bars:
            return progress.Silent().stage(label, total, unit)
        return _ClickBar(label, total, unit, self.stream)

    def message(self, text: str) -> None:
        if not self.quiet:
            click.echo(text, err=True)


@contextlib.contextmanager
def reporting(quiet: bool) -> Iterator[BarReporter]:
    """Install a :class:`BarReporter` for one command's run."""
    reporter = BarReporter(quiet=quiet)
    with progress.using(reporter):
        yield reporter
