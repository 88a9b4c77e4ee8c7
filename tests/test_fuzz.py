"""Fuzzing every entry point with generated hostile input (hypothesis): portfolio JSON,
holdings CSV, price CSV, command-line flags (stress and Monte Carlo) and the editor's
cells. The contract, for every input:

* exit 0 (or 3, "already past liquidation") with every number in the output finite, or
* exit 2 with one line on stderr naming the field (or the argument) and the value;

never exit 1 ("internal error"), a traceback, a ``null`` number or a numpy warning (the
suite turns warnings into errors, and the command line turns numerical warnings into
internal errors). The editor never raises, its valid part computes finite results, and
what it holds always saves and reads back.

Sizes: a few hundred inputs per entry point (fewer for the slow reverse stress and Monte
Carlo), derandomized in CI (``tests/conftest.py``).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cli
from engine import compile_book
from engine.scenarios import resolve_betas
from engine.stress import shock as evaluate_shock
from ui.document import EDITABLE_KEYS, Document, column

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo_portfolio.json"
DEMO_DICT = json.loads(DEMO.read_text())
FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- strategies
EDGE_NUMBERS = [0, -0.0, 1, -1, 1e308, -1e308, 1e300, 1e15, 1e15 * (1 - 1e-12), 1e-12,
                1e-13, 5e-324, 1e-300, 10 ** 400, -10 ** 400, 2 ** 63, 0.5, 200, 201]
NUMBER_TEXT = ["1e400", "-1e400", "inf", "-Infinity", "nan", "NaN", "1,234.5", "1e308%",
               "0x10", "", " ", "1_000", "--1", "9" * 400, "1e-400", "50%", "-0", "1e15",
               "null", "n/a", "0,5", "1.234,5"]
HOSTILE_TEXT = ["\ud800", "a\udfffb", "\u202egnp.exe", "x\u2066y", "\x00", "a\x1bb", "tab\t",
                "line\nbreak", "x" * 300, "=cmd|' /C calc'!A0", "<script>", "BTC", "名前", "🚀"]

#: valid-looking numbers of every magnitude: where arithmetic overflows if a bound is missing
EXPONENTS = [-330, -320, -308, -300, -100, -13, -12, -1, 0, 1, 12, 14, 15, 16, 100, 150, 290,
             300, 303, 305, 307, 308]
magnitudes = st.builds(lambda m, e, neg: (-1 if neg else 1) * m * 10.0 ** e, st.floats(1.0, 9.99),
                       st.one_of(st.sampled_from(EXPONENTS), st.integers(-330, 308)),
                       st.booleans())
numbers = st.one_of(magnitudes, st.sampled_from(EDGE_NUMBERS), st.floats(),
                    st.integers(-10 ** 20, 10 ** 20))
number_text = st.one_of(st.sampled_from(NUMBER_TEXT), st.floats().map(repr),
                        st.text(alphabet="0123456789.,e%-+ _", max_size=12))
texts = st.one_of(st.text(max_size=20), st.sampled_from(HOSTILE_TEXT))
any_value = st.one_of(numbers, number_text, texts, st.none(), st.booleans(),
                      st.lists(st.integers(), max_size=2))


def _paths(d: dict) -> tuple[list, list]:
    """Numeric and text leaf paths of a portfolio dict."""
    num, text = [], []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + (i,))
        elif isinstance(node, (int, float)) and not isinstance(node, bool):
            num.append(path)
        elif path[-1] not in ("format", "kind"):
            text.append(path)
    walk(d, ())
    return num, text


NUM_PATHS, TEXT_PATHS = _paths(DEMO_DICT)
mutations = st.lists(st.one_of(
    st.tuples(st.sampled_from(NUM_PATHS), magnitudes),
    st.tuples(st.sampled_from(NUM_PATHS), st.one_of(numbers, number_text)),
    st.tuples(st.sampled_from(TEXT_PATHS), st.one_of(texts, numbers)),
    st.tuples(st.sampled_from(NUM_PATHS + TEXT_PATHS), any_value)), min_size=1, max_size=2)
moves = st.one_of(st.floats(-1.5, 3.0).map(lambda x: f"{x * 100:.6g}%"),
                  st.sampled_from(["-100%", "-99.9999%", "10000%", "1e308%", "-1e-320", "1e400",
                                   "-0.5", "nan", "+0%"]))


# --------------------------------------------------------------------------- the contract
def _finite(obj, where="$"):
    if isinstance(obj, float):
        assert math.isfinite(obj), f"non-finite number at {where}"
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _finite(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _finite(v, f"{where}[{i}]")


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    real = cli.dump_json

    def dump(obj):
        _finite(obj)
        return real(obj)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            mock.patch.object(cli, "dump_json", dump):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def check(code: int, out: str, err: str) -> None:
    if code in (0, 3):
        lines = [x for x in err.splitlines() if x.strip()]
        assert all(x.startswith("warning: ") for x in lines), err
        assert "nan" not in out.lower().split() and "inf" not in out.lower().split()
        return
    assert code == 2, f"exit {code}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "field '" in err or "argument" in err, err
    assert "Traceback" not in err and "internal error" not in err


def _apply(d: dict, path: tuple, value) -> None:
    node = d
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _write(folder: Path, name: str, text: str) -> Path:
    """A file as a hostile program writes it: a lone surrogate becomes bytes that are not
    UTF-8."""
    p = folder / name
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    return p


# --------------------------------------------------------------------------- portfolio JSON
@FUZZ
@given(mutations, moves)
def test_fuzz_portfolio_json(changes, move):
    d = json.loads(json.dumps(DEMO_DICT))
    for path, value in changes:
        _apply(d, path, value)
    with tempfile.TemporaryDirectory() as tmp:
        p = _write(Path(tmp), "p.json", json.dumps(d))
        check(*run_cli("liquidation", p, "--json"))
        check(*run_cli("stress", p, "--shock", f"BTC={move}", "--json"))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations)
def test_fuzz_portfolio_json_reverse_stress(changes):
    d = json.loads(json.dumps(DEMO_DICT))
    for path, value in changes:
        _apply(d, path, value)
    with tempfile.TemporaryDirectory() as tmp:
        check(*run_cli("reverse", _write(Path(tmp), "p.json", json.dumps(d)), "--json"))


# --------------------------------------------------------------------------- holdings CSV
HOLDINGS_HEADER = ["id", "kind", "asset", "side", "quantity", "entry_price", "leverage", "price"]
cell = st.one_of(number_text, texts, numbers.map(repr))
good_row = st.sampled_from([["b1", "spot", "BTC", "", "1.5", "", "", "90000"],
                            ["s1", "perp", "SOLUSDT", "long", "10", "120", "5", "121"],
                            ["e1", "perp", "ETH", "short", "2", "3000", "3", "2950"]])


@FUZZ
@given(st.lists(st.one_of(st.tuples(st.just(["b1", "spot", "BTC", "", "1.5", "", "", "90000"]),
                                    st.sampled_from([4, 7]), magnitudes.map(repr)),
                          st.tuples(good_row, st.sampled_from([4, 5, 6, 7]), magnitudes.map(repr)),
                          st.tuples(good_row, st.integers(0, 7), cell)), min_size=1, max_size=4))
def test_fuzz_holdings_csv(rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(HOLDINGS_HEADER)
    for n, (row, col, value) in enumerate(rows):
        row = list(row)
        row[0] = f"{row[0]}-{n}"                 # unique ids, unless the id is the fuzzed cell
        row[col] = value
        w.writerow(row)
    with tempfile.TemporaryDirectory() as tmp:
        p = _write(Path(tmp), "h.csv", buf.getvalue())
        check(*run_cli("liquidation", p, "--json"))
        check(*run_cli("stress", p, "--shock", "BTC=-40%", "--json"))


# --------------------------------------------------------------------------- price CSV
price = st.one_of(st.floats(1.0, 1e5), magnitudes, st.sampled_from(EDGE_NUMBERS), number_text)
#: a consistent bar around a close of any size (low <= open, close <= high), or anything
bar = st.one_of(
    st.builds(lambda c: (c, c, c, c), magnitudes.map(abs)),
    st.builds(lambda c, lo, hi: (c, c * hi, c * lo, c), magnitudes.map(abs), st.floats(0.5, 1.0),
              st.floats(1.0, 2.0)),
    st.tuples(price, price, price, price))


@FUZZ
@given(st.lists(bar, min_size=1, max_size=5), st.booleans())
def test_fuzz_price_csv(bars, mc):
    lines = ["time,open,high,low,close", "2024-01-01,100,110,90,100"]
    for i, (o, h, lo, c) in enumerate(bars):
        lines.append(",".join([f"2024-01-{i + 2:02d}"] + [str(x).replace(",", "") for x in (o, h, lo, c)]))
    with tempfile.TemporaryDirectory() as tmp:
        p = _write(Path(tmp), "btc.csv", "\n".join(lines) + "\n")
        check(*run_cli("stress", DEMO, "--prices", f"BTC={p}", "--json"))
        if mc:
            check(*run_cli("montecarlo", DEMO, "--model", "bootstrap", "--paths", "64", "--days",
                           "2", "--prices", f"BTC={p}", "--json"))


# --------------------------------------------------------------------------- flags
flag_number = st.one_of(numbers.map(repr), number_text)


@FUZZ
@given(moves, st.sampled_from(["SOL", "ETH", "DOGE", "USDC", "BTC", "XYZ"]), flag_number)
def test_fuzz_stress_flags(move, asset, beta):
    check(*run_cli("stress", DEMO, "--shock", f"BTC={move}", "--beta", f"{asset}={beta}", "--json"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["student-t", "gbm"]), st.integers(1, 400), st.integers(1, 24),
       st.integers(1, 128), st.sampled_from(["BTC", "SOL", "SUI"]), flag_number, flag_number)
def test_fuzz_montecarlo_flags(model, days, steps, paths, asset, vol, beta):
    check(*run_cli("montecarlo", DEMO, "--model", model, "--days", days, "--steps-per-day",
                   steps, "--paths", paths, "--vol", f"{asset}={vol}", "--beta", f"SOL={beta}",
                   "--json"))


# --------------------------------------------------------------------------- editor cells
NUMERIC_KEYS = [k for k in EDITABLE_KEYS if column(k).numeric]


@FUZZ
@given(st.lists(st.one_of(st.tuples(st.integers(0, 6), st.sampled_from(NUMERIC_KEYS),
                                    magnitudes.map(repr)),
                          st.tuples(st.integers(0, 6), st.sampled_from(EDITABLE_KEYS),
                                    st.one_of(number_text, texts, numbers.map(repr)))),
                min_size=1, max_size=4),
       st.one_of(texts, st.just("Demo")), st.floats(-1.0, 3.0))
def test_fuzz_editor_cells(edits, name, move):
    doc = Document.from_file(DEMO)
    for row, key, text in edits:
        doc.set_field(row, key, Document.normalize(key, text, doc.get_field(row, key)))
    doc.name = name
    v = doc.validate()                                  # never raises
    if v.portfolio is not None and v.portfolio.positions:
        book = compile_book(v.portfolio)
        betas = {a: b for a, (b, _) in resolve_betas(book.assets).items()}
        res = evaluate_shock(book, betas, move)
        assert math.isfinite(res.portfolio_before) and math.isfinite(res.portfolio_after)
    text = doc.dumps()                                  # anything that opens can be saved
    text.encode("utf-8")
    again = Document(json.loads(text))
    assert again.name == doc.name and len(again.rows) == len(doc.rows)
