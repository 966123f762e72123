"""Writing a stage's output directory safely: one writer at a time, nothing half-written.

- :func:`output_lock`: a lock file (``.stairs-link.lock``, holding the writer's pid and
  command) taken with ``O_EXCL`` before anything is written; a second run into the same
  directory is refused while the first is alive; a lock left by a dead process is taken
  over. On taking the lock, ``*.partial`` files a killed run left behind (they may hold
  personal data) are deleted. :func:`locks_output` is the same as a decorator, for a stage
  function with an ``out_dir`` parameter.
- :func:`write_atomic`: write to a temporary name, then one ``os.replace``.
- :func:`file_record`: bytes and sha256 of a published file, for the completion record.
- :func:`check_not_locked`: readers refuse a directory a writer still holds.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from stairs_link.errors import InputFileError

LOCK_NAME = ".stairs-link.lock"
PUBLISHING_NAME = ".stairs-link.publishing"  # present while finished files replace the old ones

P = ParamSpec("P")
R = TypeVar("R")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


def _holder(lock: Path) -> dict | None:
    try:
        return json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def output_lock(directory: Path, command: str) -> Iterator[None]:
    """Hold ``directory`` for one ``command`` run (see module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_NAME
    body = json.dumps({"pid": os.getpid(), "command": command}).encode("utf-8")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock) or {}
            pid = int(holder.get("pid", 0) or 0)
            if _alive(pid) and pid != os.getpid():
                raise InputFileError(
                    f"another `stairs-link {holder.get('command', '?')}` (process {pid}) is writing this directory",
                    reason="output_locked", file=str(directory),
                    fix="wait for it to finish, or write --out to another directory") from None
            lock.unlink(missing_ok=True)  # left by a run that died: take it over
            continue
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
        break
    else:  # pragma: no cover - lost a race twice
        raise InputFileError("could not lock the output directory", reason="output_locked", file=str(directory),
                             fix="re-run; if it persists, delete .stairs-link.lock when no stairs-link is running")
    for stale in directory.glob("*.partial"):
        stale.unlink(missing_ok=True)
    # a publishing marker left by a dead run stays until this run publishes (readers refuse)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def locks_output(command: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: the call runs holding :func:`output_lock` on its ``out_dir`` argument.

    >>> @locks_output("adapt")
    ... def adapt(mapping_path, inputs, out_dir, *, progress=False): ...
    """

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args: P.args, **kwargs: P.kwargs) -> R:
            out_dir = signature.bind(*args, **kwargs).arguments["out_dir"]
            with output_lock(Path(out_dir), command):
                return function(*args, **kwargs)

        return locked

    return decorate


@contextmanager
def publishing(directory: Path) -> Iterator[None]:
    """Mark ``directory`` as being published (files renamed into place, then the completion
    record): the marker is removed only when the block ends normally, so a run killed or
    failing (a full disk at the manifest) in between leaves a directory readers refuse."""
    marker = directory / PUBLISHING_NAME
    marker.write_text(str(os.getpid()), encoding="utf-8")
    yield
    marker.unlink(missing_ok=True)


def check_not_locked(directory: Path) -> None:
    """Refuse to read a directory a live writer holds (its files may be half-written), or
    one whose publishing was interrupted."""
    if (directory / PUBLISHING_NAME).exists():
        holder = _holder(directory / LOCK_NAME) or {}
        if not (_alive(int(holder.get("pid", 0) or 0)) and int(holder.get("pid", 0) or 0) != os.getpid()):
            raise InputFileError("a run writing this directory stopped half-way through publishing its files (killed, "
                                 "or the disk was full): its tables and manifest may not belong together",
                                 reason="incomplete_output", file=str(directory),
                                 fix="re-run the command that writes this directory (e.g. `stairs-link adapt`)")
    lock = directory / LOCK_NAME
    if not lock.exists():
        return
    holder = _holder(lock) or {}
    pid = int(holder.get("pid", 0) or 0)
    if _alive(pid) and pid != os.getpid():
        raise InputFileError(f"`stairs-link {holder.get('command', '?')}` (process {pid}) is still writing this directory",
                             reason="output_locked", file=str(directory),
                             fix="wait for it to finish, then re-run this command")


def write_atomic(path: Path, text: str) -> None:
    """``path`` gets ``text`` (UTF-8) whole or not at all: a temporary file, then one rename."""
    tmp = path.with_name(path.name + ".partial")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def file_record(path: Path) -> dict:
    """The completion record's entry for a published file: its size and sha256."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
