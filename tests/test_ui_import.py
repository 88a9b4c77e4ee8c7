"""GUI: venue files open, drop and import into the open book by content; the venue's
liquidation price shows beside ours (the real window, offscreen)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from test_ui_main_window import WAIT, col, row_of, window  # noqa: E402,F401  (fixture)

DATA = Path(__file__).parent / "data" / "import"


def _analysed(w, qtbot, n_rows: int) -> None:
    qtbot.waitUntil(lambda: w.controller.analysis is not None
                    and len(w.controller.analysis.liquidation) == n_rows, timeout=WAIT)


def test_import_into_this_book_adds_and_shows_the_venue_price(window, qtbot):
    doc = window.document
    path_before = doc.path
    assert window.files.import_into_book([str(DATA / "hyperliquid_clearinghouse_state.json")])
    assert doc.holdings.rowCount() == 7 + 4 and doc.dirty and doc.path == path_before
    assert any(a["id"] == "hyperliquid" for a in doc.doc.accounts)
    assert "Imported hyperliquid_clearinghouse_state.json" in window.statusBar().currentMessage()
    _analysed(window, qtbot, 11)
    m = doc.holdings
    r = row_of(window, "hl-BTC")
    assert m.data(m.index(r, col("venue_liquidation_price"))) == "31,708"
    tip = m.data(m.index(r, col("venue_liquidation_price")), Qt.ItemDataRole.ToolTipRole)
    assert "Within 1 % of ours" in tip
    demo = row_of(window, "sol-10x")
    assert m.data(m.index(demo, col("venue_liquidation_price"))) == ""


def test_a_difference_over_one_percent_is_flagged(window, qtbot, tmp_path):
    book = tmp_path / "binance.json"
    import cli
    assert cli.main(["convert", str(DATA / "binance_position_risk_cross.json"),
                     str(DATA / "binance_transaction_history.csv"), "-o", str(book)]) == 0
    raw = json.loads(book.read_text())
    raw["prices"]["BNB"] = 600.0
    book.write_text(json.dumps(raw))
    assert window.files.open_path(str(book))
    assert window.document.path == str(book)                 # CrashLab's own file now
    _analysed(window, qtbot, len(raw["positions"]))
    m = window.document.holdings
    r = row_of(window, "binance-ETH")
    tip = m.data(m.index(r, col("venue_liquidation_price")), Qt.ItemDataRole.ToolTipRole)
    assert "differs from the venue's 1,153.26" in tip
    assert m.data(m.index(r, col("venue_liquidation_price")), Qt.ItemDataRole.ForegroundRole) \
        is not None


def test_venue_files_open_as_imports_and_drop_together(window):
    f = DATA / "okx_account_positions.json"
    assert window.files.open_path(str(f))
    assert window.document.path is None                      # saving never overwrites the export
    assert "OKX account positions" in window.statusBar().currentMessage()
    assert window.document.holdings.rowCount() == 4
    window.files.open_dropped([str(DATA / "bybit_position_list.json"),
                               str(DATA / "aave_v3_user_reserves.json")])
    assert window.document.holdings.rowCount() == 4 + 3 + 2
    window.files.open_dropped([str(DATA / "ghostfolio_activities.csv")])
    assert window.document.holdings.rowCount() == 9          # not a book: left to the replay


def test_unreadable_venue_file_is_a_message(window, tmp_path):
    f = tmp_path / "positions.json"
    f.write_text(json.dumps([{"symbol": "BTCUSDT", "positionAmt": "0"}]))
    assert not window.files.import_into_book([str(f)])
    assert "every positionAmt is 0" in window.last_error
    assert window.document.holdings.rowCount() == 7
    g = tmp_path / "state.json"
    g.write_text(json.dumps({"balance": 5}))
    window.files.open_dropped([str(g)])
    assert "JSON object with the keys balance" in window.last_error
    assert window.document.holdings.rowCount() == 7
