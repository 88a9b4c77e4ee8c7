"""Atomic writes under bad luck: links, backups, failing writes, a process killed while
saving, text that UTF-8 cannot hold."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import atomic
from engine.atomic import (backup_path, clean_stale_temps, clean_stale_temps_in, file_stamp,
                           json_text, write_bytes_atomic, write_text_atomic)

ROOT = Path(__file__).resolve().parents[1]


def _temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_replaces_and_keeps_one_backup(tmp_path):
    p = tmp_path / "a.json"
    write_text_atomic(p, "one", backup=True)
    assert p.read_text() == "one" and not backup_path(p).exists()      # nothing to back up
    write_text_atomic(p, "two", backup=True)
    write_text_atomic(p, "three", backup=True)
    assert p.read_text() == "three" and backup_path(p).read_text() == "two"
    write_text_atomic(p, "four")                                      # no backup asked
    assert backup_path(p).read_text() == "two"
    assert _temps(tmp_path) == []


def test_write_through_a_symlink_keeps_the_link(tmp_path):
    real = tmp_path / "store" / "real.json"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert write_text_atomic(link, "new", backup=True) == real
    assert link.is_symlink() and Path(os.readlink(link)) == real
    assert real.read_text() == "new" and (real.stat().st_mode & 0o777) == 0o640
    assert backup_path(link) == real.with_name("real.json.bak")
    assert backup_path(link).read_text() == "old"
    # a chain of links, and a dangling link (its target is created)
    link2 = tmp_path / "link2.json"
    link2.symlink_to(link)
    write_text_atomic(link2, "newer")
    assert real.read_text() == "newer" and link2.is_symlink() and link.is_symlink()
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "store" / "later.json")
    write_text_atomic(dangling, "created")
    assert (tmp_path / "store" / "later.json").read_text() == "created" and dangling.is_symlink()


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_failing_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch, where):
    p = tmp_path / "a.json"
    p.write_text("old")

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    if where == "write":
        monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: _FailingFile(fd))
    else:
        monkeypatch.setattr(atomic.os, where, full)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(p, "new" * 1000, backup=True)
    monkeypatch.undo()
    assert p.read_text() == "old"
    assert _temps(tmp_path) == []


class _FailingFile:
    def __init__(self, fd):
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


KILLED_WRITER = """
import os, sys, time
sys.path.insert(0, {root!r})
from engine import atomic
real_fsync = os.fsync
def slow_fsync(fd):            # the data is in the temp file: announce it, then hang
    real_fsync(fd)
    print("writing", flush=True)
    time.sleep(60)
atomic.os.fsync = slow_fsync
atomic.write_bytes_atomic({path!r}, b"x" * 2_000_000, backup=True)
"""


def test_a_save_killed_with_sigkill_leaves_nothing_behind_next_time(tmp_path):
    p = tmp_path / "book.json"
    p.write_text("the good version")
    for _ in range(3):                        # three kills, each mid-save
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER.format(root=str(ROOT), path=str(p))],
                                stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "writing"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        assert p.read_text() == "the good version"          # never half a file
        # each save first removes what the killed ones left: temps never pile up
        assert len(_temps(tmp_path)) == 1
    left = _temps(tmp_path)
    assert ".crashlab-" in left[0]
    # the next start (opening or saving the file) removes them: their processes are gone
    removed = clean_stale_temps(p)
    assert sorted(x.name for x in removed) == left and _temps(tmp_path) == []
    # and a save does it by itself
    junk = tmp_path / left[0]
    junk.write_text("again")
    write_text_atomic(p, "saved", backup=True)
    assert _temps(tmp_path) == [] and p.read_text() == "saved"
    assert backup_path(p).read_text() == "the good version"


def test_temps_of_a_live_process_and_of_others_are_kept(tmp_path):
    p = tmp_path / "book.json"
    mine = tmp_path / f".book.json.crashlab-{os.getpid()}-abc.tmp"        # a save in progress
    foreign = tmp_path / ".book.json.other.tmp"
    other_file = tmp_path / ".notes.txt.crashlab-999999999-abc.tmp"
    for f in (mine, foreign, other_file):
        f.write_text("x")
    assert clean_stale_temps(p) == []
    assert mine.exists() and foreign.exists() and other_file.exists()
    old = time.time() - 2 * atomic.STALE_TEMP_AGE_S
    os.utime(mine, (old, old))                 # a day old: stale even if the pid lives
    assert clean_stale_temps(p) == [mine]
    assert clean_stale_temps_in(tmp_path) == [other_file]        # every file of a folder
    assert foreign.exists()


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=5), kids, max_size=4), max_leaves=12))
def test_json_text_always_encodes_and_reads_back(value):
    text = json_text({"v": value})
    text.encode("utf-8")                       # never a UnicodeEncodeError
    assert json.loads(text) == {"v": value}


def test_json_text_escapes_only_when_it_must():
    assert json_text({"a": "é"}, indent=None) == '{"a": "é"}'
    assert json_text({"a": "é\ud800"}, indent=None) == '{"a": "\\u00e9\\ud800"}'


def test_file_stamp_tells_content_changes_from_touches(tmp_path):
    p = tmp_path / "a.json"
    p.write_text("one")
    s1 = file_stamp(p)
    os.utime(p, (time.time() + 10, time.time() + 10))
    s2 = file_stamp(p)
    assert s1 != s2 and s1.same_content(s2)
    p.write_text("two")
    assert not s1.same_content(file_stamp(p))
    assert file_stamp(tmp_path / "missing.json") is None and not s1.same_content(None)


def test_write_bytes_atomic_returns_what_it_wrote(tmp_path):
    assert write_bytes_atomic(tmp_path / "sub" / "x.bin", b"\0\1") == tmp_path / "sub" / "x.bin"
