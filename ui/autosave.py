"""Autosave and the autosaves of crashed sessions, on disk.

While the app runs, unsaved edits are written (atomically) every few seconds to
``<AppDataLocation>/autosave/<session>.json``; the session holds a QLockFile. A clean exit
deletes both. At the next start, an autosave whose lock is stale (its process is gone)
belongs to a session that crashed: :meth:`Autosaver.orphans` lists every one of them (as
:class:`Orphan`, read but not opened) and nothing is deleted until the user has decided
about it (:mod:`ui.recovery`).
"""
from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from engine import InputError
from engine.atomic import FileStamp, clean_stale_temps_in, json_text, write_text_atomic
from engine.portfolio import parse_json_text, printable_name, read_text_file

FORMAT = "crashlab.autosave/1"


def default_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".crashlab") / "autosave"


@dataclass
class Orphan:
    """The autosave of a session that did not exit cleanly."""

    file: Path                      # the autosave file
    saved_at: float                 # when it was written (epoch seconds)
    name: str                       # the portfolio's name
    path: str                       # the file the session was editing ("" = never saved)
    document: dict | None           # the portfolio as typed; None when unreadable
    stamp: FileStamp | None = None  # the edited file as that session last read or wrote it
    error: str = ""                 # why it cannot be read

    @property
    def when(self) -> str:
        return dt.datetime.fromtimestamp(self.saved_at).strftime("%Y-%m-%d %H:%M:%S")

    @property
    def label(self) -> str:
        return f"“{self.name}” from {self.when}"


class Autosaver:
    def __init__(self, directory: str | Path | None = None):
        self.dir = Path(directory) if directory else default_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        clean_stale_temps_in(self.dir)            # left by a session killed while writing
        self.session = f"{os.getpid()}-{int(time.time() * 1000)}"
        self.lock = QLockFile(str(self.dir / f"{self.session}.lock"))
        self.lock.tryLock(0)
        self.file = self.dir / f"{self.session}.json"
        self.last_saved = 0.0

    def save(self, document: dict, path: str | None, stamp: FileStamp | None = None) -> None:
        """Write the autosave; raises OSError (disk full, read-only folder)."""
        payload = {"format": FORMAT, "saved_at": time.time(), "path": path or "",
                   "stamp": list(stamp) if stamp else None, "document": document}
        write_text_atomic(self.file, json_text(payload, indent=None))
        self.last_saved = time.time()

    def discard(self) -> None:
        try:
            self.file.unlink()
        except FileNotFoundError:
            pass

    def close(self) -> None:
        self.discard()
        self.lock.unlock()

    # ---- recovery
    def orphan_files(self) -> list[Path]:
        """Autosave files of sessions that did not exit cleanly, newest first."""
        out = []
        for f in self.dir.glob("*.json"):
            if f.stem == self.session:
                continue
            lock = QLockFile(str(self.dir / f"{f.stem}.lock"))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):          # nobody holds it: its session is gone
                lock.unlock()
                out.append(f)
        for lock_path in self.dir.glob("*.lock"):          # stale locks without an autosave
            if lock_path.stem != self.session and not lock_path.with_suffix(".json").exists():
                lock = QLockFile(str(lock_path))
                lock.setStaleLockTime(0)
                if lock.tryLock(0):
                    lock.unlock()
                    try:
                        lock_path.unlink()
                    except OSError:
                        pass

        def mtime(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0
        out.sort(key=mtime, reverse=True)
        return out

    def orphans(self) -> list[Orphan]:
        """Every crashed session's autosave, read (an unreadable one is listed with its
        reason, never dropped), newest first."""
        return [self.read(f) for f in self.orphan_files()]

    @staticmethod
    def read(path: Path) -> Orphan:
        path = Path(path)
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        try:
            data = parse_json_text(read_text_file(path), str(path))
            if not isinstance(data, dict) or not isinstance(data.get("document"), dict):
                raise InputError("is not a CrashLab autosave", field="path", value=str(path))
        except InputError as exc:
            return Orphan(path, mtime, path.stem, "", None, error=exc.reason)
        doc = data["document"]
        try:
            saved_at = float(data.get("saved_at", mtime))
            dt.datetime.fromtimestamp(saved_at)
        except (TypeError, ValueError, OverflowError, OSError):
            saved_at = mtime
        stamp = data.get("stamp")
        try:
            stamp = FileStamp(int(stamp[0]), int(stamp[1]), str(stamp[2])) if stamp else None
        except (TypeError, ValueError, IndexError):
            stamp = None
        name = doc.get("name")
        return Orphan(path, saved_at, printable_name(str(name) if name is not None else ""),
                      str(data.get("path") or ""), doc, stamp)

    @staticmethod
    def remove(path: Path) -> None:
        for p in (Path(path), Path(path).with_suffix(".lock")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
