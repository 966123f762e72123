"""Key files: creation, permissions, loading errors, and the key never being shown."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from stairs_link.cli import cli
from stairs_link.errors import PrivacyError
from stairs_link.privacy import KeyFilePermissionWarning, SecretKey, keyed_token, load_key, new_key_file

POSIX = sys.platform != "win32"


def test_new_key_file_is_random_owner_only_and_loads(tmp_path: Path) -> None:
    a = new_key_file(tmp_path / "a.key")
    b = new_key_file(tmp_path / "b.key")
    lines = a.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("# stairs-link secret key")
    assert len(lines[1]) == 64 and int(lines[1], 16) >= 0
    key_a, key_b = load_key(a), load_key(b)
    assert isinstance(key_a, SecretKey) and isinstance(key_a, bytes) and len(key_a) == 32
    assert bytes(key_a) != bytes(key_b)
    assert bytes(key_a) == bytes.fromhex(lines[1])
    if POSIX:
        assert stat.S_IMODE(os.stat(a).st_mode) == 0o600


def test_new_key_file_refuses_to_overwrite(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "site.key")
    before = path.read_bytes()
    with pytest.raises(PrivacyError) as err:
        new_key_file(path)
    assert err.value.reason == "key_file_exists"
    assert path.read_bytes() == before


def test_new_key_file_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(PrivacyError) as err:
        new_key_file(tmp_path / "nope" / "k.key")
    assert err.value.reason == "key_folder_missing"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    if POSIX:
        os.chmod(path, 0o600)
    return path


def test_load_key_errors_name_the_file_and_never_show_content(tmp_path: Path) -> None:
    with pytest.raises(PrivacyError) as err:
        load_key(tmp_path / "missing.key")
    assert err.value.reason == "key_file_missing" and "key new" in str(err.value)

    short_hex = "ab" * 16
    with pytest.raises(PrivacyError) as err:
        load_key(_write(tmp_path / "short.key", f"# header\n{short_hex}\n"))
    assert err.value.reason == "key_too_short"
    assert short_hex not in str(err.value) and "short.key" in str(err.value)

    garbage = "not-a-key-but-a-secret-password!!"
    with pytest.raises(PrivacyError) as err:
        load_key(_write(tmp_path / "bad.key", f"# header\n{garbage}\n"))
    assert err.value.reason == "key_file_invalid"
    assert garbage not in str(err.value)


def test_load_key_accepts_base64_and_windows_line_endings(tmp_path: Path) -> None:
    import base64

    raw = bytes(range(32))
    path = tmp_path / "b64.key"
    path.write_bytes(b"# header\r\n" + base64.b64encode(raw) + b"\r\n")
    if POSIX:
        os.chmod(path, 0o600)
    assert bytes(load_key(path)) == raw


@pytest.mark.skipif(not POSIX, reason="POSIX permission bits")
def test_load_key_warns_when_others_can_read(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "k.key")
    os.chmod(path, 0o644)
    with pytest.warns(KeyFilePermissionWarning, match="chmod 600"):
        load_key(path)


@pytest.mark.skipif(not POSIX or os.geteuid() == 0, reason="root reads any file")
def test_load_key_unreadable(tmp_path: Path) -> None:
    path = new_key_file(tmp_path / "k.key")
    os.chmod(path, 0)
    try:
        with pytest.raises(PrivacyError) as err:
            load_key(path)
        assert err.value.reason == "key_file_unreadable"
    finally:
        os.chmod(path, 0o600)


def test_key_never_appears_in_repr_str_format_logs_or_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = load_key(new_key_file(tmp_path / "k.key"))
    secret_forms = [bytes(key).hex(), repr(bytes(key)), str(bytes(key))[2:-1]]
    shown = [repr(key), str(key), f"{key}", f"{key!r}", "%s" % key, str([key]), str({"key": key})]  # noqa: UP031 (%-formatting is one of the forms tested)
    logging.getLogger("stairs_link.test").warning("using key %s", key)
    shown.append(caplog.text)
    with pytest.raises(PrivacyError) as err:
        keyed_token(pd.Series(["1"]), key, "Bad Domain!")
    shown.append(str(err.value))
    for text in shown:
        for secret in secret_forms:
            assert secret not in text
    assert "hidden" in repr(key) and key.key_id in repr(key)
    assert len(key.key_id) == 16


def test_cli_key_new(tmp_path: Path) -> None:
    out = tmp_path / "site.key"
    result = CliRunner().invoke(cli, ["key", "new", "--out", str(out)])
    assert result.exit_code == 0, result.output
    key = load_key(out)
    assert bytes(key).hex() not in result.output
    assert key.key_id in result.output
    again = CliRunner().invoke(cli, ["key", "new", "--out", str(out)])
    assert again.exit_code == 2
    assert "already exists; refusing to overwrite it" in again.output
    assert bytes(key).hex() not in again.output
