"""Writing files so that nothing is lost: atomic replacement, through symbolic links, with a
backup of the previous version, stale temporary files of our own cleaned up; JSON text that
can always be written; and the stamp of a file, to notice another program changing it.

* :func:`write_bytes_atomic` writes to a temporary file next to the target
  (``.NAME.crashlab-PID-XXXX.tmp``), flushes and fsyncs it and renames it over the target:
  a reader sees the old file or the new one, never half of one. A symbolic link is followed:
  its target is written and the link kept. With ``backup=True`` the previous version stays
  as ``NAME.bak`` next to the target (one backup, replaced by the next save). A process
  killed while writing leaves its temporary file behind; the next write or read of the same
  file through :func:`clean_stale_temps` removes those whose process is gone.
* :func:`json_text` is ``json.dumps`` that never fails to encode: text holding a lone
  surrogate (which UTF-8 cannot hold) is written with ``\\uXXXX`` escapes, so the file reads
  back to the same strings.
* :func:`file_stamp` is (modification time, size, SHA-256) of a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

TEMP_TAG = "crashlab"
BACKUP_SUFFIX = ".bak"
STALE_TEMP_AGE_S = 24 * 3600          # a temp file this old is stale even if its pid is reused


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8", *,
                      backup: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    return write_bytes_atomic(path, text.encode(encoding), backup=backup)


def write_bytes_atomic(path: str | os.PathLike, data: bytes, *, backup: bool = False) -> Path:
    """Write ``data`` to ``path`` so that readers see either the old or the new file.

    A symbolic link is followed (its target is replaced, the link kept). With ``backup`` the
    file being replaced is kept as ``NAME.bak`` (:func:`backup_path`). Returns the path
    written (the link's target for a link). Raises OSError (disk full, read-only folder,
    ...); no temporary file is left behind then.
    """
    target = real_target(path)
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(target.name), suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:   # the old file's permissions, or those of a new file (mkstemp makes it 0600)
            os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask())
        except OSError:
            pass
        if backup and target.exists():
            _keep_backup(target)
        os.replace(tmp, target)
    except BaseException:
        _discard(tmp)
        raise
    _fsync_folder(folder)
    return target


def _umask() -> int:
    """The process umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def real_target(path: str | os.PathLike) -> Path:
    """The file a write to ``path`` must replace: ``path`` itself, or the final target of a
    symbolic link (also a dangling one, which the write then creates)."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def backup_path(path: str | os.PathLike) -> Path:
    """Where the previous version of ``path`` is kept: ``NAME.bak`` next to the file (next to
    the link's target for a symbolic link)."""
    t = real_target(path)
    return t.with_name(t.name + BACKUP_SUFFIX)


def _keep_backup(target: Path) -> None:
    """Keep the current ``target`` as its backup: a hard link (no copy) where the file
    system allows, else a copy; replaced atomically."""
    bak = target.with_name(target.name + BACKUP_SUFFIX)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(bak.name), suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        os.unlink(tmp)
        try:
            os.link(target, tmp)
        except OSError:
            shutil.copy2(target, tmp)
        os.replace(tmp, bak)
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str) -> None:
    """Remove a temporary file of a write that failed (it may already be gone)."""
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- stale temps
def _temp_prefix(name: str) -> str:
    return f".{name}.{TEMP_TAG}-{os.getpid()}-"


_TEMP_RE = re.compile(rf"^\.(?P<name>.+)\.{TEMP_TAG}-(?P<pid>\d+)-[^.]*\.tmp$")


def clean_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Remove temporary files our writes of ``path`` (or its backup) left behind when their
    process was killed: names ``.NAME.crashlab-PID-XXXX.tmp`` whose process is gone (or
    that are older than a day). Returns the files removed; errors are ignored."""
    target = real_target(path)
    names = {target.name, target.name + BACKUP_SUFFIX}
    removed = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if not m or m.group("name") not in names:
            continue
        try:
            old = time.time() - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE_S
            if old or not _alive(int(m.group("pid"))):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def clean_stale_temps_in(folder: str | os.PathLike) -> list[Path]:
    """:func:`clean_stale_temps` for every file of ``folder`` (e.g. the autosave folder)."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_RE.match(entry.name)
        if m:
            removed += clean_stale_temps(Path(folder) / m.group("name"))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True                 # unknown: the age rule decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


# --------------------------------------------------------------------------- JSON text
def json_text(obj: Any, indent: int | None = 2) -> str:
    """``obj`` as JSON text that can always be written as UTF-8: non-ASCII characters as
    they are, unless some string holds a lone surrogate; then everything non-ASCII is
    escaped (``\\ud800``), which reads back to the same strings. Unknown types as ``str``."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(obj, indent=indent, ensure_ascii=True, default=str)
    return text


# --------------------------------------------------------------------------- stamps
class FileStamp(NamedTuple):
    """What a file was when we read or wrote it."""

    mtime_ns: int
    size: int
    sha256: str

    def same_content(self, other: "FileStamp | None") -> bool:
        return other is not None and self.size == other.size and self.sha256 == other.sha256


def file_stamp(path: str | os.PathLike) -> FileStamp | None:
    """(modification time, size, SHA-256) of ``path`` (through a link), None when it cannot
    be read."""
    try:
        st = os.stat(path)
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return FileStamp(st.st_mtime_ns, st.st_size, h.hexdigest())
