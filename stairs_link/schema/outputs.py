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
- :func:`output_unit`: every stage after adapt (link, build, explain's pages) writes its files
  as ONE unit: into a staging folder inside the directory (``.stairs-link.new/``), then, under
  the publishing marker, the previous run's files this run does not write are deleted, the new
  ones renamed into place, and ``complete.json`` (the completion record: per file its rows,
  bytes and sha256, the same shape as adapt's manifest entries) is written last.
- :func:`verify_output`: readers refuse a directory without a valid completion record, or whose
  files do not match it (missing, other size or row count, other sha256 for files up to
  :data:`HASH_LIMIT` bytes), naming the directory, what is wrong and the command to re-run.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import inspect
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ParamSpec, TypeVar

from stairs_link.errors import InputFileError

LOCK_NAME = ".stairs-link.lock"
PUBLISHING_NAME = ".stairs-link.publishing"  # present while finished files replace the old ones
STAGING_NAME = ".stairs-link.new"  # a unit's files while they are written (never read)
COMPLETE_NAME = "complete.json"  # the completion record of link, build and explain's pages
COMPLETE_FORMAT = "stairs-link.complete/1"
#: readers hash every file up to this size; larger files are checked by bytes and (Parquet) rows
#: (measured by bench/bench_outputs.py: see docs/architecture.md, *Completion records*)
HASH_LIMIT = 64 << 20

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
    shutil.rmtree(directory / STAGING_NAME, ignore_errors=True)  # a killed unit's files (personal data)
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


def parquet_rows(path: Path) -> int | None:
    """Rows of a Parquet file from its footer (None when it is not readable Parquet)."""
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except Exception:  # noqa: BLE001 - any unreadable footer: the caller reports the file
        return None


def _entry(path: Path, name: str) -> dict:
    entry: dict = {"file": name}
    if name.endswith(".parquet"):
        entry["rows"] = parquet_rows(path)
    entry.update(file_record(path))
    return entry


class OutputUnit:
    """The files one run of a stage writes into ``directory``, published together (see
    :func:`output_unit`). Writers write each file to :meth:`path` (a name relative to the
    directory, e.g. ``"linkage/model.json"``) and never to the directory itself."""

    def __init__(self, directory: Path, command: str, *, owned: tuple[str, ...] = (), amend: bool = False):
        self.directory = directory
        self.command = command
        self.staging = directory / STAGING_NAME
        self.owned = owned
        self.amend = amend
        self.extra: dict = {}
        self.record: dict | None = None

    def path(self, name: str) -> Path:
        """Where to write ``name`` for now (inside the staging folder)."""
        target = self.staging / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def written(self) -> list[str]:
        return sorted(p.relative_to(self.staging).as_posix() for p in self.staging.rglob("*") if p.is_file())

    def publish(self) -> dict:
        """Replace the directory's files by this run's and write the completion record last."""
        names = self.written()
        entries = {name: _entry(self.staging / name, name) for name in names}
        old = read_record(self.directory)
        old_files = {k: v for k, v in dict(old.get("files") or {}).items() if _inside(k)} if old else {}
        if self.amend:  # e.g. pages added to a finished LINKED: the other files stay as recorded
            entries = {**{k: v for k, v in old_files.items() if k not in entries}, **entries}
        with publishing(self.directory):
            (self.directory / COMPLETE_NAME).unlink(missing_ok=True)
            if not self.amend:  # an earlier run's files this run does not write must not stay
                for name in sorted((set(old_files) | set(self.owned)) - set(names)):
                    _remove(self.directory / name)
            for name in names:
                final = self.directory / name
                final.parent.mkdir(parents=True, exist_ok=True)
                if final.is_dir():
                    shutil.rmtree(final)
                os.replace(self.staging / name, final)
            from stairs_link import __version__

            record = {"format": COMPLETE_FORMAT, "command": self.command, "stairs_link_version": __version__,
                      "completed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      **self.extra, "files": dict(sorted(entries.items()))}
            write_atomic(self.directory / COMPLETE_NAME, json.dumps(record, indent=2) + "\n")
        self.record = record
        return record


def _inside(name: object) -> bool:
    """A record's file name stays inside its directory (relative, no ``..``)."""
    return isinstance(name, str) and bool(name) and not Path(name).is_absolute() and ".." not in Path(name).parts


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def output_unit(directory: str | Path, command: str, *, owned: tuple[str, ...] = (),
                amend: bool = False) -> Iterator[OutputUnit]:
    """Lock ``directory`` and write one unit of files into it (module docstring); published
    when the block ends normally, discarded (no file of the directory touched) when it raises.
    ``owned``: every file name this stage may write there (an older run's copy of one this run
    does not write is deleted at publishing). ``amend``: add or replace files of a directory
    already complete (its other files keep their records)."""
    directory = Path(directory)
    with output_lock(directory, command):
        unit = OutputUnit(directory, command, owned=owned, amend=amend)
        shutil.rmtree(unit.staging, ignore_errors=True)
        unit.staging.mkdir(parents=True)
        try:
            yield unit
            unit.publish()
        finally:
            shutil.rmtree(unit.staging, ignore_errors=True)


def read_record(directory: Path) -> dict | None:
    """The directory's complete.json, or None when absent or unreadable."""
    try:
        record = json.loads((directory / COMPLETE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _problem(message: str, reason: str, directory: Path, fix: str, file: Path | None = None) -> InputFileError:
    return InputFileError(message, reason=reason, file=str(file or directory), fix=fix)


def verify_output(directory: str | Path, command: str, *, needed: tuple[str, ...] = (),
                  kind: str | None = None) -> dict:
    """Refuse ``directory`` unless a finished ``stairs-link <command>`` wrote it and its files
    are the ones the completion record lists; returns the record.

    ``needed``: files the reader will read (each must be listed). ``kind`` names the directory
    in messages (e.g. "linked directory"). Reasons: ``output_locked`` (a writer is still at
    work), ``incomplete_output`` (publishing interrupted, no record, a listed file missing or
    different), ``old_output_format`` (the stage's files without a record: written by an older
    stairs-link or by a run that did not finish), ``bad_completion_record`` (unreadable record).
    Each fix is to re-run ``command``."""
    directory = Path(directory)
    kind = kind or f"directory written by `stairs-link {command}`"
    fix = f"re-run `stairs-link {command}` to write {directory} again (or point at the right directory)"
    check_not_locked(directory)
    path = directory / COMPLETE_NAME
    if not path.exists():
        present = [n for n in needed if (directory / n).exists()]
        if present:
            raise _problem(f"the {kind} holds {present[0]} but no {COMPLETE_NAME} (the completion record): it was "
                           "written by a stairs-link older than completion records, or by a run that did not finish",
                           "old_output_format", directory, fix)
        raise _problem(f"not a {kind}: no {COMPLETE_NAME} (the completion record every finished run writes last)",
                       "incomplete_output", directory, fix)
    record = read_record(directory)
    if record is None or record.get("format") != COMPLETE_FORMAT or not isinstance(record.get("files"), dict) \
            or not all(_inside(name) and isinstance(entry, dict) for name, entry in record["files"].items()):
        raise _problem(f"{COMPLETE_NAME} is not a stairs-link completion record (unreadable, or another format)",
                       "bad_completion_record", directory, fix + f"; do not edit {COMPLETE_NAME}", path)
    if record.get("command") != command:
        raise _problem(f"this directory was written by `stairs-link {record.get('command')}`, not by "
                       f"`stairs-link {command}`: not a {kind}", "wrong_directory", directory,
                       f"pass the directory `stairs-link {command}` wrote (its --out)", path)
    files: dict = record["files"]
    for name in needed:
        if name not in files:
            raise _problem(f"the {kind}'s completion record does not list {name}", "incomplete_output",
                           directory, fix, directory / name)
    for name, entry in files.items():
        check_file(directory / name, entry, fix, kind)
    return record


def check_file(file: Path, entry: dict, fix: str, kind: str) -> None:
    """One file against its completion-record entry (bytes, Parquet rows, sha256 up to
    :data:`HASH_LIMIT`)."""
    where = f"the {kind}'s {entry.get('file', file.name)}"
    if not file.is_file():
        raise _problem(f"{where} is listed in the completion record but missing", "incomplete_output",
                       file.parent, fix, file)
    size = file.stat().st_size
    if "bytes" in entry and size != entry["bytes"]:
        raise _problem(f"{where} has {size:,} bytes but the completion record says {entry['bytes']:,}: it was "
                       "changed or replaced after the run that wrote it", "incomplete_output", file.parent, fix, file)
    if entry.get("rows") is not None and parquet_rows(file) != entry["rows"]:
        raise _problem(f"{where} does not hold the {entry['rows']:,} rows the completion record says",
                       "incomplete_output", file.parent, fix, file)
    if "sha256" in entry and size <= HASH_LIMIT and file_record(file)["sha256"] != entry["sha256"]:
        raise _problem(f"{where} does not match the sha256 in the completion record: it was changed after the "
                       "run that wrote it", "incomplete_output", file.parent, fix, file)


def verify_linked(linked_dir: str | Path, needed: tuple[str, ...] = ("clusters.parquet",)) -> dict:
    """Refuse a LINKED directory a finished `stairs-link link` did not write whole (or whose
    files changed since); returns its completion record. URLs are not checked (no record
    can be verified there cheaply: docs/architecture.md)."""
    if "://" in str(linked_dir):
        return {}
    return verify_output(Path(linked_dir), "link", needed=needed, kind="linked directory")


def verify_dataset(dataset: str | Path, needed: tuple[str, ...] = ("build.json",)) -> dict:
    """Refuse a DATASET directory a finished `stairs-link build` did not write whole."""
    if "://" in str(dataset):
        return {}
    return verify_output(Path(dataset), "build", needed=needed, kind="dataset directory")
