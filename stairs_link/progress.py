"""Progress of long work: library code reports it here, the caller (the CLI) decides how it shows.

A low module (no click, no I/O of its own) so that every stage, both engines included, can
report progress without importing the CLI. Library code does::

    from stairs_link import progress

    with progress.stage("comparing pairs", total=plan.total, unit="pairs") as bar:
        for chunk in chunks:
            ...
            bar.advance(len(chunk))
    progress.message("link: scoring done in 3.2 s")

and shows nothing unless a reporter is installed. The CLI installs one for the duration of a
command (``with progress.using(reporter): ...``): ``stairs_link.cli.progress_bars`` draws
click progress bars on stderr when stderr is a terminal, and prints messages as lines. A
reporter is kept in a context variable, so concurrent runs in one process (tests, threads
started with a copied context) do not see each other's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Protocol, TypeVar

T = TypeVar("T")


class Bar(Protocol):
    """One stage's progress: ``advance`` by units done; closed by the ``with`` block."""

    def advance(self, n: int = 1) -> None: ...

    def close(self) -> None: ...


class Reporter(Protocol):
    """What the caller supplies: how stages (bars) and messages (lines) are shown."""

    def stage(self, label: str, total: int | None, unit: str) -> Bar: ...

    def message(self, text: str) -> None: ...


class _NoBar:
    def advance(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class Silent:
    """The default reporter: shows nothing."""

    draws_bars = False

    def stage(self, label: str, total: int | None, unit: str) -> Bar:
        return _NoBar()

    def message(self, text: str) -> None:
        pass


SILENT = Silent()
_REPORTER: ContextVar[Reporter | None] = ContextVar("stairs_link_progress", default=None)


def current() -> Reporter:
    """The reporter in effect (``Silent`` unless a caller installed one)."""
    return _REPORTER.get() or SILENT


@contextlib.contextmanager
def using(reporter: Reporter) -> Iterator[Reporter]:
    """Install ``reporter`` for the duration of the ``with`` block."""
    token = _REPORTER.set(reporter)
    try:
        yield reporter
    finally:
        _REPORTER.reset(token)


@contextlib.contextmanager
def stage(label: str, total: int | None = None, unit: str = "") -> Iterator[Bar]:
    """A stage of ``total`` units (None: unknown), shown as a bar by the reporter in effect."""
    bar = current().stage(label, total, unit)
    try:
        yield bar
    finally:
        bar.close()


def track(items: Iterable[T], label: str, total: int | None = None, unit: str = "",
          size: Callable[[T], int] | None = None) -> Iterator[T]:
    """Yield ``items``, advancing a stage's bar by ``size(item)`` (default 1) after each."""
    with stage(label, total, unit) as bar:
        for item in items:
            yield item
            bar.advance(1 if size is None else size(item))


def message(text: str) -> None:
    """A line about progress (stage done, counts) for the reporter in effect."""
    current().message(text)


def bars_shown() -> bool:
    """Whether the reporter in effect draws bars (so per-batch progress lines can be left out)."""
    return bool(getattr(current(), "draws_bars", False))
