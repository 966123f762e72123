"""One root error for everything a user can fix, one subclass per pipeline layer.

Each error carries a machine-readable ``reason`` plus, where known, the site, file, row and
column it concerns, and a ``fix`` telling the user what to do. The CLI turns these into a
clean message and a non-zero exit code; a traceback means a bug in stairs-link, never a
mistake in the user's input.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Problem:
    """One thing wrong with an input, located as precisely as we can."""

    reason: str
    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    line: int | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(str(self.file))
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.fix:
            text += f" Fix: {self.fix}"
        return text


class StairsLinkError(Exception):
    """Root of every error caused by user input or configuration (not by a bug)."""

    layer = "stairs-link"

    def __init__(
        self,
        message: str,
        *,
        reason: str = "error",
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        line: int | None = None,
        site: str | None = None,
        fix: str | None = None,
        problems: list[Problem] | None = None,
    ) -> None:
        self.reason = reason
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.line = line
        self.site = site
        self.fix = fix
        self.problems = list(problems or [])
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        head = Problem(
            reason=self.reason,
            message=self.message,
            file=self.file,
            row=self.row,
            column=self.column,
            line=self.line,
            fix=self.fix,
        )
        lines = [str(head)]
        lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)


class SchemaError(StairsLinkError):
    """A table does not match the canonical schema (wrong version, missing column, bad type)."""

    layer = "schema"


class MappingError(StairsLinkError):
    """A mapping file is invalid or does not fit the export it is applied to."""

    layer = "mapping"


class InputFileError(StairsLinkError):
    """An export cannot be read: empty, wrong encoding, ragged, missing sheet, ..."""

    layer = "adapt"


class QualityError(StairsLinkError):
    """Quality checks could not run (the checks failing is a result, not an error)."""

    layer = "quality"


class LinkageError(StairsLinkError):
    """Linkage configuration, model or inputs are unusable."""

    layer = "linkage"


class IntegrationError(StairsLinkError):
    """Building the one-record-per-child dataset failed on its inputs."""

    layer = "integrate"


class PrivacyError(StairsLinkError):
    """Key files or pseudonymisation settings are unusable."""

    layer = "privacy"


class IndicatorError(StairsLinkError):
    """An indicator request (name, grouping, parameter) or its dataset is unusable."""

    layer = "indicators"


class AnalysisError(StairsLinkError):
    """The analysis tables or their exports cannot be written from the dataset given."""

    layer = "analysis"


class EnvironmentProblem(StairsLinkError):
    """The machine, not the input: a full disk, a read-only or forbidden output, too little
    memory, input nested too deeply to read. Never a traceback (``--debug`` shows one)."""

    layer = "environment"


def from_exception(exc: BaseException) -> StairsLinkError | None:
    """The user-facing error for an exception raised by the machine rather than by a check
    (OSError, MemoryError, RecursionError), or None for anything else (a bug)."""
    import errno

    if isinstance(exc, OSError):
        where = exc.filename if exc.filename is not None else None
        code = exc.errno
        if code == errno.ENOSPC or code == getattr(errno, "EDQUOT", -1):
            return EnvironmentProblem("the disk is full (no space left on the device)", reason="disk_full", file=where,
                                      fix="free some space, or write --out to a disk with room; nothing half-written "
                                          "is kept")
        if code in (errno.EROFS, errno.EACCES, errno.EPERM):
            what = "read-only" if code == errno.EROFS else "not writable (or not readable) by you"
            return EnvironmentProblem(f"the file or directory is {what}", reason="not_writable", file=where,
                                      fix="choose an --out directory you can write to, or ask for access")
        if code == errno.ENOENT:
            return EnvironmentProblem("file or directory not found", reason="not_found", file=where,
                                      fix="check the path (and that its parent directory exists)")
        if code == errno.EISDIR:
            return EnvironmentProblem("a directory where a file was expected", reason="is_a_directory", file=where,
                                      fix="give the file's path, not its folder's")
        return EnvironmentProblem(f"the operating system refused: {exc.strerror or exc}", reason="os_error",
                                  file=where, fix="check the path, the disk and your permissions, then re-run")
    if isinstance(exc, MemoryError):
        return EnvironmentProblem("out of memory", reason="out_of_memory",
                                  fix="close other programs or run on a machine with more memory; a hostile or "
                                      "corrupt input can also cause this (check the file)")
    if isinstance(exc, RecursionError):
        return EnvironmentProblem("the input is nested too deeply to read", reason="too_deeply_nested",
                                  fix="check the file: a real export or mapping is not nested thousands of levels deep")
    return None
