"""Secret key files: create one (random, owner-only), load it, and never show it.

A key file is UTF-8 text: a header line, then 32 random bytes as 64 hex digits::

    # stairs-link secret key v1 - keep secret; never send it with the data
    3f9c...e1

The loaded key is a :class:`SecretKey`, a ``bytes`` subclass whose ``repr``/``str`` hide the
bytes, so it cannot leak through a log line, an exception or a debugger display by accident.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import stat
import sys
import warnings
from pathlib import Path

from stairs_link.errors import PrivacyError

KEY_BYTES = 32  # 256 bits: HMAC-SHA256's block-size-independent security level
HEADER = "# stairs-link secret key v1 - keep secret; never send it with the data"
_KEY_ID_LABEL = b"stairs-link key id v1"


class KeyFilePermissionWarning(UserWarning):
    """A key file can be read by other users of the machine."""


class SecretKey(bytes):
    """Key bytes that never show themselves: ``repr``, ``str`` and ``format`` are masked."""

    def __repr__(self) -> str:
        return f"SecretKey(<{len(self)} bytes hidden>, key_id={self.key_id})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    @property
    def key_id(self) -> str:
        """A short public fingerprint (16 hex digits of SHA-256 over a label and the key):
        lets two sites check they hold the same key, reveals nothing usable about it."""
        return hashlib.sha256(_KEY_ID_LABEL + bytes(self)).hexdigest()[:16]


def new_key_file(path: str | Path) -> Path:
    """Create a key file with 32 random bytes (``secrets``), readable by its owner only.

    Refuses to overwrite an existing file (a replaced key makes earlier outputs unlinkable).
    On POSIX the file is created with mode 0o600 atomically (``O_EXCL``); on Windows the mode
    bits are ignored by the OS, so the file inherits the folder's ACL: keep it in a folder only
    you can read (best effort, documented in docs/privacy.md).
    """
    path = Path(path)
    if path.exists():
        raise PrivacyError(
            "key file already exists; refusing to overwrite it",
            reason="key_file_exists", file=str(path),
            fix="choose another --out path, or delete the old key only if nothing encoded with it "
                "is still needed",
        )
    if not path.parent.exists():
        raise PrivacyError(
            "folder for the key file does not exist", reason="key_folder_missing", file=str(path),
            fix="create the folder first (one only you can read)",
        )
    text = f"{HEADER}\n{secrets.token_bytes(KEY_BYTES).hex()}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise PrivacyError("key file already exists; refusing to overwrite it",
                           reason="key_file_exists", file=str(path)) from None
    except OSError as exc:
        raise PrivacyError(f"cannot create key file ({exc.strerror})", reason="key_file_unwritable",
                           file=str(path), fix="check the folder exists and you may write to it") from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(text.encode("utf-8"))
    if sys.platform != "win32":
        os.chmod(path, 0o600)  # in case a umask-less filesystem widened it
    return path


def _decode(body: str) -> bytes | None:
    body = "".join(body.split())
    try:
        return bytes.fromhex(body)
    except ValueError:
        pass
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return None


def load_key(path: str | Path) -> SecretKey:
    """Read a key file made by :func:`new_key_file` (hex or base64 after ``#`` header lines).

    Raises :class:`PrivacyError` when the file is missing, unreadable, malformed or shorter
    than 32 bytes; warns (``KeyFilePermissionWarning``) when group or others may read it.
    Error messages never contain any part of the file's content.
    """
    path = Path(path)
    if not path.is_file():
        raise PrivacyError("key file not found", reason="key_file_missing", file=str(path),
                           fix="pass the key file your site was given, or create one with "
                               "`stairs-link key new --out KEYFILE`")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise PrivacyError(f"key file cannot be read ({detail})", reason="key_file_unreadable",
                           file=str(path),
                           fix="check you may read it and that it is the key file itself") from None
    if sys.platform != "win32":
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.warn(
                f"key file {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
                f"restrict it with `chmod 600 {path}`",
                KeyFilePermissionWarning, stacklevel=2,
            )
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    key = _decode(body)
    if key is None:
        raise PrivacyError("key file is not a stairs-link key (expected hex or base64 after the header)",
                           reason="key_file_invalid", file=str(path),
                           fix="use the file written by `stairs-link key new`, unmodified")
    if len(key) < KEY_BYTES:
        raise PrivacyError(f"key is too short ({len(key)} bytes; at least {KEY_BYTES} needed)",
                           reason="key_too_short", file=str(path),
                           fix="create a new key with `stairs-link key new --out KEYFILE`")
    return SecretKey(key)
