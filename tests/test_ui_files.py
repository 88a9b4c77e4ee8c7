"""The window's files under bad luck: crashed sessions (several), autosaves that fail,
files changed by another program, symbolic links, backups, and content that must always
save (lone surrogates, control characters)."""
from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from engine.atomic import backup_path  # noqa: E402
from test_ui_main_window import WAIT, col, window  # noqa: E402,F401  (the window fixture)
from ui import autosave as autosave_mod  # noqa: E402
from ui.autosave import Autosaver  # noqa: E402
from ui.main_window import demo_path  # noqa: E402
from ui.recovery import PENDING, RecoveryDialog  # noqa: E402

DEMO = json.loads(Path(demo_path()).read_text())


def _orphan(folder: Path, session: str, name: str, saved_at: float, path: str = "",
            quantity: float = 0.8) -> Path:
    """The autosave a crashed session left behind (no lock held)."""
    doc = json.loads(json.dumps(DEMO))
    doc["name"] = name
    doc["positions"][0]["quantity"] = quantity
    f = folder / f"{session}.json"
    f.write_text(json.dumps({"format": "crashlab.autosave/1", "saved_at": saved_at, "path": path,
                             "document": doc}))
    os.utime(f, (saved_at, saved_at))
    return f


@pytest.fixture
def crashed(window):
    """Three crashed sessions' autosaves and one unreadable one, oldest first."""
    folder = window.files.autosaver.dir
    now = time.time()
    files = [_orphan(folder, "1001-1", "Alpha book", now - 3000, quantity=1.5),
             _orphan(folder, "1002-1", "Beta book", now - 2000, quantity=2.5),
             _orphan(folder, "1003-1", "Gamma book", now - 1000, quantity=3.5)]
    bad = folder / "1004-1.json"
    bad.write_text('{"format": "crashlab.autosave/1", "document": [[[')
    os.utime(bad, (now - 500, now - 500))
    return files + [bad]


# --------------------------------------------------------------------------- recovery
def test_every_crashed_session_is_listed_with_time_and_name(window, crashed):
    orphans = window.files.autosaver.orphans()
    assert [o.file for o in orphans] == crashed[::-1]                  # newest first
    assert [o.name for o in orphans[1:]] == ["Gamma book", "Beta book", "Alpha book"]
    assert orphans[0].document is None and "not valid JSON" in orphans[0].error
    dlg = RecoveryDialog(window.files, orphans)
    assert dlg.table.rowCount() == 4
    texts = [[dlg.table.item(r, c).text() for c in range(4)] for r in range(4)]
    assert "Gamma book" in texts[1][1] and texts[1][0] == orphans[1].when
    assert "cannot be read" in texts[0][1]
    assert all(t[3] == PENDING for t in texts)
    dlg.reject()                    # decide later: nothing is deleted
    assert all(f.exists() for f in crashed)
    dlg.deleteLater()


def test_offer_recovery_deletes_nothing_it_was_not_told_to(window, crashed, monkeypatch):
    shown = []
    monkeypatch.setattr(RecoveryDialog, "exec", lambda self: shown.append(self.table.rowCount()) or 0)
    assert window.files.offer_recovery() is False
    assert shown == [4]
    assert all(f.exists() for f in crashed)
    # the next start offers every one again
    assert len(Autosaver(window.files.autosaver.dir).orphans()) == 4


def test_restore_save_as_and_discard_each_autosave(window, crashed, tmp_path):
    files = window.files
    orphans = files.autosaver.orphans()
    dlg = RecoveryDialog(files, orphans)
    # restore Gamma: the window shows it, unsaved, and our own autosave holds it before the
    # crashed session's file goes
    assert dlg.act(1, "restore")
    assert window.document.doc.name == "Gamma book" and window.document.dirty
    m = window.document.holdings
    assert m.data(m.index(0, col("quantity"))) == "3.5"
    assert not crashed[2].exists()
    ours = json.loads(files.autosaver.file.read_text())
    assert ours["document"]["name"] == "Gamma book"
    # save Beta as a file without opening it
    out = tmp_path / "beta.json"
    assert dlg.act(2, "save_as", str(out))
    assert json.loads(out.read_text())["name"] == "Beta book" and not crashed[1].exists()
    assert window.document.doc.name == "Gamma book"
    # the unreadable one cannot be restored, but can be kept as a copy
    assert not dlg.act(0, "restore")
    copy = tmp_path / "unreadable.json"
    assert dlg.act(0, "save_as", str(copy))
    assert copy.read_text().startswith('{"format"') and not crashed[3].exists()
    # discard Alpha; then nothing is pending and the dialog closes itself
    assert dlg.act(3, "discard")
    assert not crashed[0].exists()
    assert dlg.pending() == [] and dlg.result() == RecoveryDialog.DialogCode.Accepted
    assert not dlg.act(3, "discard")                   # decided already
    dlg.deleteLater()


def test_a_restored_autosave_remembers_its_file(window, tmp_path):
    target = tmp_path / "book.json"
    target.write_text(json.dumps(DEMO))
    _orphan(window.files.autosaver.dir, "2001-1", "Mine", time.time(), path=str(target))
    (o,) = window.files.autosaver.orphans()
    assert window.files.recover(o)
    assert window.document.path == str(target) and window.document.dirty


# --------------------------------------------------------------------------- autosave failures
def test_failing_autosave_is_shown_not_swallowed(window, qtbot, monkeypatch):
    files = window.files
    errors = []
    files.failed.connect(lambda title, text: errors.append(title))

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(autosave_mod, "write_text_atomic", full)
    window.document.set_cell("position", 0, "quantity", "3")
    files.autosave_timer.flush()
    assert window.autosave_label.isVisibleTo(window)
    assert "Autosave failing" in window.autosave_label.text()
    assert "No space left on device" in window.autosave_label.toolTip()
    assert "Autosave failed" in window.statusBar().currentMessage()
    assert errors == ["Autosave failed"]
    window.document.set_cell("position", 0, "quantity", "4")
    files.autosave_timer.flush()
    assert errors == ["Autosave failed"]                # one dialog, the indicator stays
    assert window.autosave_label.isVisibleTo(window)
    monkeypatch.undo()
    window.document.set_cell("position", 0, "quantity", "5")
    files.autosave_timer.flush()
    assert not window.autosave_label.isVisibleTo(window)
    assert files.autosaver.file.exists()


# --------------------------------------------------------------------------- saving
def _open_copy(window, tmp_path, name="book.json", doc=None) -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc or DEMO))
    assert window.files.open_path(str(p))
    return p


def test_save_keeps_the_previous_version_as_bak(window, tmp_path):
    p = _open_copy(window, tmp_path)
    before = p.read_text()
    window.document.set_cell("position", 0, "quantity", "3")
    assert window.files.save()
    assert backup_path(p) == tmp_path / "book.json.bak"
    assert backup_path(p).read_text() == before
    assert json.loads(p.read_text())["positions"][0]["quantity"] == 3
    assert "book.json.bak" in window.statusBar().currentMessage()


@pytest.mark.parametrize("choice", ["cancel", "overwrite"])
def test_a_file_changed_on_disk_is_not_overwritten_silently(window, tmp_path, choice):
    p = _open_copy(window, tmp_path)
    theirs = json.loads(p.read_text())
    theirs["name"] = "Edited elsewhere"
    p.write_text(json.dumps(theirs))                   # another program saves the file
    window.document.set_cell("position", 0, "quantity", "3")
    asked = []
    window.files.ask_changed_on_disk = lambda path: asked.append(path) or choice
    saved = window.files.save()
    assert asked == [str(p)]
    if choice == "cancel":
        assert not saved and json.loads(p.read_text())["name"] == "Edited elsewhere"
        assert window.document.dirty
    else:
        assert saved and json.loads(p.read_text())["positions"][0]["quantity"] == 3
        assert json.loads(backup_path(p).read_text())["name"] == "Edited elsewhere"
        # saved knowingly: the next save does not ask again
        window.document.set_cell("position", 0, "quantity", "4")
        assert window.files.save() and asked == [str(p)]


def test_an_untouched_file_saves_without_a_question(window, tmp_path):
    p = _open_copy(window, tmp_path)
    os.utime(p, (time.time() + 5, time.time() + 5))      # touched, same content
    window.files.ask_changed_on_disk = lambda path: pytest.fail("asked")
    window.document.set_cell("position", 0, "quantity", "3")
    assert window.files.save()


def test_saving_through_a_symlink_writes_its_target(window, tmp_path):
    real = tmp_path / "data" / "real.json"
    real.parent.mkdir()
    real.write_text(json.dumps(DEMO))
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert window.files.open_path(str(link))
    window.document.set_cell("position", 0, "quantity", "3")
    assert window.files.save()
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads(real.read_text())["positions"][0]["quantity"] == 3
    assert (tmp_path / "data" / "real.json.bak").exists()
    assert not list(tmp_path.glob(".link*")) and not list(tmp_path.glob("link.json.*"))
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.json", "real.json.bak"]


def test_stale_temp_files_of_a_killed_save_are_cleaned_on_open(window, tmp_path):
    p = tmp_path / "book.json"
    p.write_text(json.dumps(DEMO))
    dead = tmp_path / ".book.json.crashlab-999999999-abc123.tmp"    # no such process
    dead.write_text("half a file")
    theirs = tmp_path / ".book.json.x.tmp"                           # not our pattern
    theirs.write_text("someone else's")
    assert window.files.open_path(str(p))
    assert not dead.exists() and theirs.exists()


# --------------------------------------------------------------------------- anything that opens can be saved
@pytest.mark.parametrize("bad_id", ["\ud800", "a\x00b", "evil\u202egnp.exe", "tab\there", "x" * 201])
def test_a_file_with_a_bad_id_opens_marked_and_saves(window, tmp_path, bad_id):
    doc = json.loads(json.dumps(DEMO))
    doc["positions"][0]["id"] = bad_id
    doc["name"] = "name\x1b[31m"
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))                      # \ud800 written as an escape
    assert window.files.open_path(str(p))
    v = window.document.validation
    issue = next(c for (uid, key), c in v.cells.items() if key == "id")
    assert "positions[0].id" in issue.message and "must be printable text" in issue.message \
        or "too long" in issue.message
    assert v.name is not None and "field 'name'" in v.name.message
    assert "field 'name'" in window.name_edit.toolTip()
    # save and autosave never fail on what was accepted; the text survives the round trip
    window.document.set_cell("position", 1, "quantity", "3001")
    window.files.autosave_timer.flush()
    assert window.files.autosaver.file.exists()
    assert window.files.save()
    again = json.loads(p.read_text(encoding="utf-8"))
    assert again["positions"][0]["id"] == bad_id and again["name"] == "name\x1b[31m"
