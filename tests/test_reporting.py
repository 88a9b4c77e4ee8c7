"""The report builder and the CSV writer without a window (no Qt), and the headless
``report`` command: settings in words, notes for a proxy and a cancelled run, exit codes,
the file written atomically."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import cli
from engine import compile_book, load_portfolio, resolve_betas
from engine.montecarlo import MonteCarloRequest, simulate_chunks
from engine.scenarios import library_scenario
from engine.stress import liquidation_prices, reverse_stress, sensitivity, shock, stress
from reporting import MonteCarloRun, ReportData, ScenarioRun, build_report, csvfile, svg, words
from reporting.results import montecarlo_notes, scenario_settings, shock_report

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo_portfolio.json"


# --------------------------------------------------------------------------- CSV cells
@pytest.mark.parametrize("value, money, text", [
    (-0.09999999999999998, False, "-0.1"), (0.30000000000000004, False, "0.3"), (True, False, "yes"),
    (False, False, "no"), (np.bool_(True), False, "yes"), (1234.5, True, "1234.50"), (-0.0, False, "0"),
    (-0.001, True, "0.00"), (1e-05, False, "0.00001"), (None, False, ""), (float("nan"), False, ""),
    (np.int64(7), False, "7"), (np.float32(0.5), False, "0.5"), (-1234.567, True, "-1234.57"),
    (87000.12345678901, False, "87000.12346"), (float("inf"), False, "inf"), (float("-inf"), False, "'-inf"),
    ("abc", False, "abc"), ("=1+2", False, "'=1+2"), ("+1", False, "'+1"), ("-x", False, "'-x"),
    ("@A1", False, "'@A1"), ("\tx", False, "'\tx"), ("\rx", False, "'\rx"),
    ("=cmd|' /C calc'!A0", False, "'=cmd|' /C calc'!A0"), ("a=b", False, "a=b"),
])
def test_cells(value, money, text):
    assert csvfile.cell(value, money) == text


def test_negative_numbers_stay_numeric_in_a_table():
    df = pd.DataFrame({"id": ["=cmd|' /C calc'!A0", "-short"], "pnl": [-12.5, -0.1 - 0.2 + 0.3],
                       "move": [-0.09999999999999998, 0.5]})
    text = csvfile.to_csv(csvfile.Table("t", df, ("pnl",)), [("Portfolio", "-1 book")])
    assert "\n'=cmd|' /C calc'!A0,-12.50,-0.1\n" in text and "\n'-short,0.00,0.5\n" in text
    assert "# Portfolio,'-1 book" in text
    back = pd.read_csv(io.StringIO(text), comment="#")
    assert back["pnl"].dtype == float and back["pnl"].tolist() == [-12.5, 0.0]
    assert back["move"].tolist() == [-0.1, 0.5]


def test_apportioned_cents_add_up_to_the_total():
    rng = np.random.default_rng(5)
    for _ in range(200):
        v = rng.normal(0, 5000, rng.integers(1, 40))
        total = float(v.sum())
        cents = csvfile.apportion_cents(v, total)
        assert round(float(cents.sum()), 2) == round(total, 2)
        assert np.all(np.abs(cents - v) < 0.01 + 1e-9)          # each moved by less than a cent
    # values that do not add up to the total are rounded one by one, not forced
    assert csvfile.apportion_cents([1.004, 2.004], 10.0).tolist() == [1.0, 2.0]


# --------------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def demo():
    return load_portfolio(DEMO)


def report_data(p, *, scenario_id=None, shock_move=None, mc_chunk=None, overrides=None):
    book = compile_book(p)
    resolved = resolve_betas(book.assets, overrides)
    betas = {a: b for a, (b, _) in resolved.items()}
    today = shock(book, betas, 0.0)
    runs = []
    liq = liquidation_prices(p, book)
    if shock_move is not None:
        rep = shock_report(shock(book, betas, shock_move), {r["id"]: r for r in liq})
        runs.append(ScenarioRun("Shock", rep, scenario_settings(rep, overrides or {})))
    if scenario_id:
        rep = stress(p, library_scenario(scenario_id, book.assets, book.today, overrides, "BTC"), book)
        runs.append(ScenarioRun(f"Replay: {rep['scenario']['name']}", rep,
                                scenario_settings(rep, overrides or {}, "BTC"), words.proxy_notes(rep["method"])))
    mc = None
    if mc_chunk is not None:
        mc = MonteCarloRun(mc_chunk, list(book.ids), list(book.labels), 1,
                           words.describe_montecarlo("student-t", mc_chunk.paths_total, 3, 1, 4),
                           montecarlo_notes(mc_chunk))
    return ReportData(p, str(DEMO), liq, {i: float(v) for i, v in zip(today.ids, today.value_before)},
                      today.portfolio_before, betas, {a: s for a, (_, s) in resolved.items()}, overrides or {},
                      accounts_today=today.accounts, sensitivity=sensitivity(book, betas), shock_move=shock_move,
                      scenarios=runs, montecarlo=mc, reverse=reverse_stress(p, overrides))


def test_report_settings_in_words_self_contained(demo):
    html = build_report(report_data(demo, scenario_id="2022-11-06-ftx-collapse", shock_move=-0.3,
                                    overrides={"SOL": 1.5}))
    assert "{'" not in html and "'}" not in html and "[{" not in html      # no Python repr
    assert "<script" not in html and "<img" not in html and "src=" not in html
    assert "http" not in html.split("<body>")[0]
    # ladder, sensitivity, P&L per asset of each run, and the replay's value, health-factor and
    # margin-ratio paths (the bundled FTX crash is hour by hour)
    assert html.count("<svg") == 7
    for words_ in ("Instant shock: BTC −30.0%", "Bundled crash “FTX collapse", "SOL beta 1.5",
                   "SOL 1.5 (your override)", "Prices today (USD)", "Generated", "CrashLab 0.1.0",
                   "exchange-cross: wallet $3,000.00 at binance", "Reverse stress", "BTC move that causes it",
                   "wallet exchange-cross", "account liquidated: wallet lost"):
        assert words_ in html, words_
    # the proxy note: SUI is not in the FTX data
    assert "SUI is not in the scenario&#x27;s data: it followed a proxy, BTC, beta 1.34" in html


def test_report_notes_a_cancelled_monte_carlo(demo):
    book = compile_book(demo)
    gen = simulate_chunks(book, MonteCarloRequest(n_paths=4000, days=3, seed=4, chunk_paths=500))
    first = next(gen)
    gen.close()                                 # cancelled after the first chunk
    assert not first.final
    html = build_report(report_data(demo, mc_chunk=first))
    assert f"cancelled after {first.paths_done:,} of 4,000 paths" in html
    assert "Random seed" in html and "4 (the same seed gives the same paths)" in html


def test_report_escapes_user_text(demo):
    p = demo.copy()
    p.name = "<script>alert(1)</script>"
    p.positions[0].id = "<b>x</b>"
    html = build_report(report_data(p))
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "<b>x</b>" not in html


def test_svg_line_chart_clamps_and_breaks_on_non_finite():
    out = svg.line_chart("t", [svg.Line([0, 1, 2, 3], [1.0, np.inf, 2.0, 3.0], "a")], x_label="x", y_label="y",
                         marks=[svg.Mark(1, 99.0, "off the chart")], y_range=(0, 4))
    assert out.startswith("<svg") and out.endswith("</svg>")
    assert "M" in out and out.count("<path d='M") >= 1
    assert "off the chart" in out and "nan" not in out.lower() and "inf" not in out.lower()


def test_reporting_needs_no_qt():
    code = ("import sys, cli, reporting, reporting.html, reporting.svg, reporting.csvfile; "
            "assert not [m for m in sys.modules if m.startswith('PySide6') or m.startswith('pyqtgraph')]")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


# --------------------------------------------------------------------------- the CLI
def test_cli_report_writes_the_file(tmp_path, capsys):
    out = tmp_path / "r.html"
    rc = cli.main(["report", str(DEMO), "--shock", "BTC=-30%", "--beta", "SOL=1.5", "-o", str(out)])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "Instant shock: BTC −30.0%" in text and "SOL beta 1.5" in text and "{'" not in text
    assert "report written to" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["r.html"]            # no temporary file left
    assert (out.stat().st_mode & 0o777) != 0o600                  # a normal file, not mkstemp's 0600


def test_cli_report_with_monte_carlo_and_replay(tmp_path):
    out = tmp_path / "r.html"
    rc = cli.main(["report", str(DEMO), "--scenario", "2022-11-06-ftx-collapse", "--paths", "300",
                   "--days", "3", "--seed", "7", "-o", str(out)])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert "Monte Carlo" in text and "7 (the same seed gives the same paths)" in text
    assert "followed a proxy" in text


@pytest.mark.parametrize("args, field", [
    (["--scenario", "no-such-crash"], "scenario"),
    (["--shock", "BTC=abc"], "shock"),
    (["--shock", "BTC=-30%", "--scenario", "2022-11-06-ftx-collapse"], "exactly one"),
    (["--paths", "-5"], "--paths"),
])
def test_cli_report_bad_input_exits_2_and_keeps_the_old_file(tmp_path, capsys, args, field):
    out = tmp_path / "r.html"
    out.write_text("old report")
    rc = cli.main(["report", str(DEMO), *args, "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and field in err and "Traceback" not in err
    assert out.read_text() == "old report"
    assert sorted(os.listdir(tmp_path)) == ["r.html"]


def test_cli_report_output_errors(tmp_path, capsys):
    assert cli.main(["report", str(DEMO)]) == 2                      # -o is required
    assert "--output" in capsys.readouterr().err
    assert cli.main(["report", str(DEMO), "-o", str(tmp_path / "nope" / "r.html")]) == 2
    assert "--output" in capsys.readouterr().err
    assert cli.main(["report", str(DEMO), "-o", str(tmp_path)]) == 2  # a folder
    assert "folder" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "missing.json"), "-o", str(tmp_path / "r.html")]) == 2
    assert not (tmp_path / "r.html").exists()


def test_main_dispatches_report(tmp_path):
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "main.py", "report", str(DEMO), "-o", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert out.exists() and "Holdings today" in out.read_text(encoding="utf-8")
