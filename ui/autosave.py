"""Autosave and crash recovery.

While the app runs, unsaved edits are written (atomically) every few seconds to
``<AppDataLocation>/autosave/<session>.json``; the session holds a QLockFile. A clean exit
deletes both. At the next start, an autosave whose lock is stale (its process is gone)
belongs to a session that crashed, and the app offers to recover it.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QLockFile, QStandardPaths

from engine.atomic import json_text, write_text_atomic


def default_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".crashlab") / "autosave"


class Autosaver:
    def __init__(self, directory: str | Path | None = None):
        self.dir = Path(directory) if directory else default_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.session = f"{os.getpid()}-{int(time.time() * 1000)}"
        self.lock = QLockFile(str(self.dir / f"{self.session}.lock"))
        self.lock.tryLock(0)
        self.file = self.dir / f"{self.session}.json"
        self.last_saved = 0.0

    def save(self, document: dict, path: str | None) -> None:
        payload = {"format": "crashlab.autosave/1", "saved_at": time.time(), "path": path or "",
                   "document": document}
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
    def orphans(self) -> list[Path]:
        """Autosaves of sessions that did not exit cleanly, newest first."""
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
        out.sort(key=lambda p: p.stat().st_mtime, reverse=True)
        return out

    @staticmethod
    def read(path: Path) -> dict:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or "document" not in data:
            raise ValueError("not a CrashLab autosave")
        return data

    @staticmethod
    def remove(path: Path) -> None:
        for p in (Path(path), Path(path).with_suffix(".lock")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
