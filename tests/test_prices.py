"""Tests for engine.prices (price CSV import)."""
from __future__ import annotations

import csv
import gzip
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.errors import InputError
from engine.prices import (
    PriceHistory,
    asset_from_filename,
    load_price_history,
    normalize_symbol,
    parse_prices_arg,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "prices"


def _need(*rel: str) -> list[Path]:
    paths = [DATA / r for r in rel]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"shared price data not available: {', '.join(missing)}")
    return paths


def _write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding=encoding, newline="")
    return p


def _t(s: str) -> np.datetime64:
    return np.datetime64(pd.Timestamp(s).to_datetime64(), "ns")


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _expect_error(specs, *fragments, **kw) -> InputError:
    with pytest.raises(InputError) as info:
        load_price_history(specs, **kw)
    msg = str(info.value)
    for frag in fragments:
        assert str(frag) in msg, f"{frag!r} not in {msg!r}"
    return info.value


# --------------------------------------------------------------------------- real data

def test_daily_btc_eth_sol_known_value():
    files = _need("daily/BTC-USDT_daily.csv", "daily/ETH-USDT_daily.csv",
                  "daily/SOL-USDT_daily.csv")
    ph = load_price_history([str(f) for f in files])
    assert ph.assets == ("BTC", "ETH", "SOL")
    assert ph.has_ohlc.tolist() == [True, True, True]
    assert ph.sources == tuple(str(f) for f in files)
    assert ph.open.shape == ph.close.shape == (len(ph), 3)
    assert ph.times.dtype == np.dtype("datetime64[ns]")
    assert ph.step_seconds == 86400.0
    # span = latest first row .. earliest last row, union of dates (independent read)
    dates = [[r["date"] for r in _csv_rows(f)] for f in files]
    lo, hi = max(d[0] for d in dates), min(d[-1] for d in dates)
    union = sorted({x for d in dates for x in d if lo <= x <= hi})
    assert len(ph) == len(union)
    assert ph.times[0] == _t(union[0]) and ph.times[-1] == _t(union[-1])
    day = ph.window("2025-12-18", "2025-12-18")
    assert len(day) == 1
    btc = day.select("BTC")
    assert btc.low[0, 0] == 84450.01
    row = next(r for r in _csv_rows(files[0]) if r["date"] == "2025-12-18")
    assert btc.open[0, 0] == float(row["open"]) and btc.high[0, 0] == float(row["high"])
    assert btc.close[0, 0] == float(row["close"])


def test_1h_oct10_btc_sol_doge_window():
    ev = "1h/2025-10_oct-10-liquidation-cascade"
    files = _need(f"{ev}/BTC-USDT_1h.csv", f"{ev}/SOL-USDT_1h.csv", f"{ev}/DOGE-USDT_1h.csv")
    ph = load_price_history([str(f) for f in files])
    assert ph.assets == ("BTC", "SOL", "DOGE")
    assert ph.step_seconds == 3600.0
    w = ph.window("2025-10-09", "2025-10-11")
    rows = [_csv_rows(f) for f in files]
    want = sorted({r["date"] for rs in rows for r in rs
                   if "2025-10-09" <= r["date"][:10] <= "2025-10-11"})
    assert len(w) == len(want) == 72
    assert w.times[0] == _t("2025-10-09T00:00:00") and w.times[-1] == _t("2025-10-11T23:00:00")
    for j, rs in enumerate(rows):
        lows = [float(r["low"]) for r in rs if "2025-10-09" <= r["date"][:10] <= "2025-10-11"]
        assert w.low[:, j].min() == min(lows)
    # datetime end is inclusive; Timestamps and tz-aware strings are accepted
    assert len(ph.window("2025-10-10T00:00:00Z", "2025-10-10T05:00:00Z")) == 6
    assert len(ph.window(pd.Timestamp("2025-10-10 02:00"), "2025-10-10T04:00:00+02:00")) == 1


def test_intraday_1m_btc():
    (f,) = _need("intraday/BTC-USDT_1m_2026-01-24_2026-01-31.csv")
    ph = load_price_history([str(f)])
    rows = _csv_rows(f)
    assert ph.assets == ("BTC",) and len(ph) == len(rows) == 10080
    assert ph.step_seconds == 60.0
    assert ph.times[0] == _t("2026-01-24T20:17:00")
    assert ph.close[-1, 0] == float(rows[-1]["close"])


def test_markprice_file_name_is_btc():
    (f,) = _need("intraday/BTCUSDT-PERP_markprice_5m_2025-10-01_2025-12-30.csv")
    assert asset_from_filename(f) == "BTC"
    ph = load_price_history([str(f)])
    assert ph.assets == ("BTC",) and ph.step_seconds == 300.0


def test_yahoo_usd_file_and_mixed_bar_sizes():
    y, h4 = _need("daily_usd_yahoo/ETH-USD_daily_yahoo.csv", "4h/BTC-USDT_4h.csv")
    ph = load_price_history([str(y), ("BTC", str(h4))])
    assert ph.assets == ("ETH", "BTC")
    assert ph.step_seconds == 4 * 3600.0
    day = ph.window("2021-05-19", "2021-05-19")
    assert len(day) == 6
    eth = day.select("ETH")
    # daily ETH bar at 00:00, then flat bars at its close for the other 4h rows
    assert eth.high[0, 0] > eth.close[0, 0]
    assert np.all(eth.open[1:, 0] == eth.close[0, 0])
    assert np.all(eth.high[1:, 0] == eth.close[0, 0])


# --------------------------------------------------------------------------- helpers

@pytest.mark.parametrize("name, asset", [
    ("BTC-USDT_1h.csv", "BTC"),
    ("BTCUSDT-1h-2025-10.csv", "BTC"),
    ("btc.csv", "BTC"),
    ("ETH-USD_daily_yahoo.csv", "ETH"),
    ("BTCUSDT-PERP_markprice_5m_2025-10-01_2025-12-30.csv", "BTC"),
    ("SOL-USDT_daily.csv", "SOL"),
    ("/some/dir/DOGE-USD_1m_coinbase.csv", "DOGE"),
    ("USDC-USDT_daily.csv", "USDC"),
    ("USDT-USD_daily_yahoo.csv", "USDT"),
    ("btc-usd-max.csv", "BTC"),
    ("Bitcoin_1_1_2024-1_31_2024_historical_data_coinmarketcap.csv", "BTC"),
    ("ETHUSDT-1m-2025-10-10.zip", "ETH"),
    ("prices.csv", None),
    ("data.csv", None),
    ("2025-10-01.csv", None),
])
def test_asset_from_filename(name, asset):
    assert asset_from_filename(name) == asset


@pytest.mark.parametrize("raw, sym", [
    ("BTCUSDT", "BTC"), ("BTC-USDT", "BTC"), ("BTC/USD", "BTC"), ("btc-usd", "BTC"),
    ("ETH_USDC", "ETH"), ("SOLBUSD", "SOL"), ("BNBFDUSD", "BNB"), ("ETHEUR", "ETH"),
    ("BTCUSDT-PERP", "BTC"), ("USDT", "USDT"), ("USDC", "USDC"), ("BUSD", "BUSD"),
    ("USDCUSDT", "USDC"), (" doge ", "DOGE"), ("1000PEPEUSDT", "1000PEPE"),
    ("x y", None), ("", None), ("123", None),
])
def test_normalize_symbol(raw, sym):
    assert normalize_symbol(raw) == sym


def test_parse_prices_arg(tmp_path):
    assert parse_prices_arg("BTC=btc.csv") == ("BTC", "btc.csv")
    assert parse_prices_arg("btc-usdt=data/x.csv") == ("BTC", "data/x.csv")
    assert parse_prices_arg("btc.csv") == (None, "btc.csv")
    assert parse_prices_arg(r"C:\x.csv") == (None, r"C:\x.csv")
    assert parse_prices_arg(r"C:\data\BTC=1.csv") == (None, r"C:\data\BTC=1.csv")
    assert parse_prices_arg(r"ETH=C:\prices\eth.csv") == ("ETH", r"C:\prices\eth.csv")
    assert parse_prices_arg("./a=b.csv") == (None, "./a=b.csv")
    weird = _write(tmp_path, "x=1.csv", "date,close\n2024-01-01,1\n")
    assert parse_prices_arg(str(weird)) == (None, str(weird))
    with pytest.raises(InputError, match="no file name"):
        parse_prices_arg("BTC=")
    with pytest.raises(InputError):
        parse_prices_arg("   ")


# --------------------------------------------------------------------------- formats

def test_wide_format(tmp_path):
    p = _write(tmp_path, "closes.csv",
               "date,BTC,eth,SOL-USD,volume\n"
               "2024-01-01,100,10,,5\n"
               "2024-01-02,110,11,1,5\n"
               "2024-01-03,120,,2,5\n"
               "2024-01-04,130,13,3,5\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("BTC", "ETH", "SOL")
    assert ph.has_ohlc.tolist() == [False, False, False]
    # span where all have data: 01-02 .. 01-04; ETH missing 01-03 -> previous close
    assert list(ph.times) == [_t(f"2024-01-0{d}") for d in (2, 3, 4)]
    assert ph.close[:, 1].tolist() == [11, 11, 13]
    for a in (ph.open, ph.high, ph.low):
        assert np.array_equal(a, ph.close)
    assert load_price_history([f"SOL={p}"]).assets == ("SOL",)


def test_long_format(tmp_path):
    p = _write(tmp_path, "prices.csv",
               "Date,Symbol,Open,High,Low,Close,Volume\n"
               "2024-01-02,ETH-USDT,11,12,10,11.5,1\n"
               "2024-01-01,BTCUSDT,100,105,95,101,1\n"
               "2024-01-01,ETH-USDT,10,11,9,10.5,1\n"
               "2024-01-02,BTCUSDT,101,110,100,108,1\n"
               "2024-01-01,SOL/USD,1,1.2,0.9,1.1,1\n"
               "2024-01-02,SOL/USD,1.1,1.3,1.0,1.2,1\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("ETH", "BTC", "SOL")
    assert ph.has_ohlc.all()
    assert ph.select("BTC").close[:, 0].tolist() == [101, 108]
    assert ph.select(["sol", "eth"]).assets == ("SOL", "ETH")
    assert ph.low[0].tolist() == [9, 95, 0.9]
    only = load_price_history([("eth", p)])
    assert only.assets == ("ETH",) and only.close[:, 0].tolist() == [10.5, 11.5]
    close_only = _write(tmp_path, "long2.csv", "time,ticker,price\n"
                        "2024-01-01,BTC,1\n2024-01-01,ETH,2\n")
    ph2 = load_price_history([close_only])
    assert ph2.assets == ("BTC", "ETH") and not ph2.has_ohlc.any()


def test_single_asset_ours_with_bom_spaces_and_crlf(tmp_path):
    p = _write(tmp_path, "BTC-USDT_daily.csv",
               "\ufeff Date , OPEN ,High,low, Close ,volume\r\n"
               "2024-01-01, 100 ,110,90,105,1\r\n"
               "\r\n"
               "2024-01-02,105,120,100,118,1\r\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("BTC",) and ph.has_ohlc.tolist() == [True]
    assert ph.open[:, 0].tolist() == [100, 105]
    assert ph.high[:, 0].tolist() == [110, 120]
    assert ph.low[:, 0].tolist() == [90, 100]
    assert ph.close[:, 0].tolist() == [105, 118]


def test_yahoo_format(tmp_path):
    p = _write(tmp_path, "ETH-USD.csv",
               "Date,Open,High,Low,Close,Adj Close,Volume\n"
               "2023-03-10,1.0,1.1,0.9,1.05,1.05,100\n"
               "2023-03-11,1.05,1.2,0.877,1.1,1.1,100\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("ETH",)
    assert ph.low[1, 0] == 0.877 and ph.close[1, 0] == 1.1


def test_coingecko_format(tmp_path):
    p = _write(tmp_path, "btc-usd-max.csv",
               "snapped_at,price,market_cap,total_volume\n"
               "2013-04-28 00:00:00 UTC,135.3,1500517590.0,0.0\n"
               "2013-04-29 00:00:00 UTC,141.96,1575032004.0,0.0\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("BTC",) and ph.has_ohlc.tolist() == [False]
    assert list(ph.times) == [_t("2013-04-28"), _t("2013-04-29")]
    assert np.array_equal(ph.open, ph.close) and np.array_equal(ph.low, ph.close)
    assert ph.close[:, 0].tolist() == [135.3, 141.96]


def test_coinmarketcap_format(tmp_path):
    header = ('"timeOpen";"timeClose";"timeHigh";"timeLow";"name";"open";"high";"low";'
              '"close";"volume";"marketCap";"timestamp"\n')
    rows = [
        '"2024-01-02T00:00:00.000Z";"2024-01-02T23:59:59.999Z";"2024-01-02T10:00:00.000Z";'
        '"2024-01-02T01:00:00.000Z";"2781";"44187.14";"45899.71";"44176.95";"44957.97";'
        '"39213413328.54";"880503373813.44";"2024-01-02T23:59:59.999Z"\n',
        '"2024-01-01T00:00:00.000Z";"2024-01-01T23:59:59.999Z";"2024-01-01T23:52:00.000Z";'
        '"2024-01-01T00:01:00.000Z";"2781";"42280.23";"44175.44";"42214.97";"44167.33";'
        '"18426978443.39";"865419659325.54";"2024-01-01T23:59:59.999Z"\n',
    ]
    p = _write(tmp_path, "Bitcoin_1_1_2024-1_2_2024_historical_data_coinmarketcap.csv",
               header + "".join(rows))
    ph = load_price_history([str(p)])
    assert ph.assets == ("BTC",)
    assert list(ph.times) == [_t("2024-01-01"), _t("2024-01-02")]  # timeOpen, sorted
    assert ph.low[0, 0] == 42214.97 and ph.close[1, 0] == 44957.97


def _kline_rows(open_times, unit_ms: int) -> str:
    out = []
    for i, t in enumerate(open_times):
        o = 100 + i
        out.append(f"{t},{o},{o + 5},{o - 5},{o + 1},12.5,{t + 60 * unit_ms - 1},1250.0,"
                   f"42,6.0,600.0,0\n")
    return "".join(out)


@pytest.mark.parametrize("unit", [1000, 1_000_000], ids=["ms", "us"])
def test_binance_headerless(tmp_path, unit):
    base = 1760054400  # 2025-10-10T00:00:00Z
    text = _kline_rows([(base + 60 * i) * unit for i in range(3)], unit)
    p = _write(tmp_path, "BTCUSDT-1m-2025-10-10.csv", text)
    ph = load_price_history([str(p)])
    assert ph.assets == ("BTC",) and ph.has_ohlc.tolist() == [True]
    assert list(ph.times) == [_t("2025-10-10T00:00"), _t("2025-10-10T00:01"),
                                 _t("2025-10-10T00:02")]
    assert ph.open[:, 0].tolist() == [100, 101, 102]
    assert ph.high[:, 0].tolist() == [105, 106, 107]
    assert ph.low[:, 0].tolist() == [95, 96, 97]
    assert ph.close[:, 0].tolist() == [101, 102, 103]
    assert ph.step_seconds == 60.0


def test_binance_with_header_and_zip(tmp_path):
    header = ("open_time,open,high,low,close,volume,close_time,quote_volume,count,"
              "taker_buy_volume,taker_buy_quote_volume,ignore\n")
    text = header + _kline_rows([1760054400000, 1760054460000], 1000)
    p = _write(tmp_path, "ETHUSDT-1m-2025-10-10.csv", text)
    ph = load_price_history([str(p)])
    assert ph.assets == ("ETH",) and ph.times[0] == _t("2025-10-10")
    z = tmp_path / "SOLUSDT-1m-2025-10-10.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("SOLUSDT-1m-2025-10-10.csv", text)
    assert load_price_history([str(z)]).assets == ("SOL",)
    g = tmp_path / "DOGE-USDT_1m.csv.gz"
    g.write_bytes(gzip.compress(text.encode()))
    assert load_price_history([str(g)]).close[:, 0].tolist() == [101, 102]


def test_epoch_seconds_and_generic_timestamp(tmp_path):
    p = _write(tmp_path, "btc.csv", "timestamp,close\n1704067200,42000\n1704153600,43000\n")
    ph = load_price_history([str(p)])
    assert list(ph.times) == [_t("2024-01-01"), _t("2024-01-02")]
    assert not ph.has_ohlc[0]
    f = _write(tmp_path, "eth.csv", "time,close\n1704067200.5,1\n1704067260.5,2\n")
    assert load_price_history([str(f)]).times[0] == _t("2024-01-01T00:00:00.5")


def test_offsets_converted_to_utc_and_mixed_iso(tmp_path):
    p = _write(tmp_path, "btc.csv",
               "datetime,open,high,low,close\n"
               "2024-01-01T02:00:00+02:00,1,2,1,2\n"
               "2024-01-01T01:00:00Z,2,3,2,3\n"
               "2024-01-01 02:00:00,3,4,3,4\n")
    ph = load_price_history([str(p)])
    assert list(ph.times) == [_t("2024-01-01T00:00"), _t("2024-01-01T01:00"),
                                 _t("2024-01-01T02:00")]


def test_tab_and_semicolon_decimal_comma(tmp_path):
    p = _write(tmp_path, "xrp.tsv", "date\topen\thigh\tlow\tclose\n2024-01-01\t1\t2\t0.5\t1.5\n")
    assert load_price_history([str(p)]).low[0, 0] == 0.5
    q = _write(tmp_path, "ada.csv", "date;open;high;low;close\n2024-01-01;0,5;0,7;0,4;0,6\n")
    ph = load_price_history([str(q)])
    assert ph.assets == ("ADA",) and ph.close[0, 0] == 0.6 and ph.low[0, 0] == 0.4


def test_thousands_separator_and_null_cells(tmp_path):
    p = _write(tmp_path, "btc.csv", 'date,open,high,low,close\n'
               '2024-01-01,"42,000.5",null,"41,000",42100\n')
    ph = load_price_history([str(p)])
    assert ph.open[0, 0] == 42000.5 and ph.low[0, 0] == 41000
    assert ph.high[0, 0] == 42100  # null high -> max(close, open)


def test_headerless_date_close(tmp_path):
    p = _write(tmp_path, "ltc.csv", "2024-01-01,70\n2024-01-02,71\n")
    ph = load_price_history([str(p)])
    assert ph.assets == ("LTC",) and ph.close[:, 0].tolist() == [70, 71]


# --------------------------------------------------------------------------- rules

def test_unsorted_input_is_sorted(tmp_path):
    p = _write(tmp_path, "btc.csv",
               "date,open,high,low,close\n"
               "2024-01-03,3,4,2,3.5\n"
               "2024-01-01,1,2,0.5,1.5\n"
               "2024-01-02,2,3,1,2.5\n")
    ph = load_price_history([str(p)])
    assert list(ph.times) == [_t("2024-01-01"), _t("2024-01-02"), _t("2024-01-03")]
    assert ph.close[:, 0].tolist() == [1.5, 2.5, 3.5]
    assert ph.open[:, 0].tolist() == [1, 2, 3]


def test_missing_open_high_low(tmp_path):
    p = _write(tmp_path, "btc.csv",
               "date,high,low,close\n"
               "2024-01-02,12,9,11\n"
               "2024-01-01,10,8,9\n"
               "2024-01-03,,,10\n")
    ph = load_price_history([str(p)])
    assert ph.has_ohlc.tolist() == [True]
    assert ph.open[:, 0].tolist() == [9, 9, 11]   # first: own close; then previous close
    assert ph.high[:, 0].tolist() == [10, 12, 10]  # empty high -> close
    assert ph.low[:, 0].tolist() == [8, 9, 10]
    q = _write(tmp_path, "eth.csv", "date,open,high,low,close\n"
               "2024-01-01,5,6,4,5\n2024-01-02,,7,5,6\n")
    assert load_price_history([str(q)]).open[:, 0].tolist() == [5, 5]


def test_fill_rule_and_span(tmp_path):
    a = _write(tmp_path, "btc.csv", "date,open,high,low,close\n"
               "2024-01-01,1,1,1,1\n2024-01-02,2,2.5,1.5,2\n2024-01-03,3,3.5,2.5,3\n"
               "2024-01-05,5,5.5,4.5,5\n2024-01-06,6,6,6,6\n")
    b = _write(tmp_path, "eth.csv", "date,open,high,low,close\n"
               "2024-01-02,20,21,19,20\n2024-01-04,40,41,39,40\n2024-01-05,50,51,49,50\n")
    ph = load_price_history([str(a), str(b)])
    # span 01-02 .. 01-05 (latest first row .. earliest last row), union of dates
    assert list(ph.times) == [_t(f"2024-01-0{d}") for d in (2, 3, 4, 5)]
    # BTC lacks 01-04 -> flat bar at previous close 3
    assert ph.open[:, 0].tolist() == [2, 3, 3, 5]
    assert ph.high[:, 0].tolist() == [2.5, 3.5, 3, 5.5]
    assert ph.low[:, 0].tolist() == [1.5, 2.5, 3, 4.5]
    assert ph.close[:, 0].tolist() == [2, 3, 3, 5]
    # ETH lacks 01-03 -> flat at 20
    assert ph.open[:, 1].tolist() == [20, 20, 40, 50]
    assert ph.high[:, 1].tolist() == [21, 20, 41, 51]
    assert ph.close[:, 1].tolist() == [20, 20, 40, 50]


def test_fill_uses_close_before_span_start(tmp_path):
    a = _write(tmp_path, "btc.csv", "date,close\n2024-01-01T00:00:00Z,1\n2024-01-01T02:00:00Z,3\n")
    b = _write(tmp_path, "eth.csv", "date,close\n2024-01-01T01:00:00Z,10\n2024-01-01T02:00:00Z,20\n")
    ph = load_price_history([str(a), str(b)])
    assert list(ph.times) == [_t("2024-01-01T01:00"), _t("2024-01-01T02:00")]
    assert ph.close[:, 0].tolist() == [1, 3]


def test_window_select_and_properties(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,close\n" + "".join(
        f"2024-01-01T{h:02d}:00:00Z,{h + 1}\n" for h in range(24)) + "2024-01-02T00:00:00Z,99\n")
    ph = load_price_history([str(p)])
    assert len(ph) == 25 and ph.step_seconds == 3600.0
    assert len(ph.window("2024-01-01", "2024-01-01")) == 24        # whole day
    assert len(ph.window("2024-01-01T05:00", "2024-01-01T07:00")) == 3
    assert len(ph.window(start="2024-01-01T23:00:00Z")) == 2
    assert len(ph.window(end=pd.Timestamp("2024-01-01T00:00:00"))) == 1
    assert ph.window("2024-01-02").close[0, 0] == 99
    with pytest.raises(ValueError):
        ph.close[0, 0] = 1.0  # read-only
    with pytest.raises(InputError, match="2025-01-01"):
        ph.window("2025-01-01", "2025-02-01")
    with pytest.raises(InputError, match="after end"):
        ph.window("2024-01-02", "2024-01-01")
    with pytest.raises(InputError, match="'soon'"):
        ph.window("soon")
    with pytest.raises(InputError, match="'XRP'"):
        ph.select("XRP")
    assert isinstance(ph.select(["btc"]), PriceHistory)
    assert "BTC" in repr(ph)


def test_ten_thousand_rows_load(tmp_path):
    """(Load speed is measured by bench/bench_import.py, not asserted here.)"""
    n = 10_000
    t = pd.date_range("2020-01-01", periods=n, freq="min")
    c = 100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, n))
    df = pd.DataFrame({"date": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "open": c, "high": c + 1,
                       "low": c - 1, "close": c, "volume": 1.0})
    p = tmp_path / "BTC-USDT_1m.csv"
    df.to_csv(p, index=False)
    ph = load_price_history([str(p)])
    assert len(ph) == n and ph.step_seconds == 60.0


# --------------------------------------------------------------------------- errors

def test_error_missing_file(tmp_path):
    p = tmp_path / "nope.csv"
    _expect_error([str(p)], "nope.csv", "not found")


def test_error_empty_file_and_header_only(tmp_path):
    p = _write(tmp_path, "btc.csv", "  \n\n")
    _expect_error([str(p)], "btc.csv", "empty")
    q = _write(tmp_path, "eth.csv", "date,close\n")
    _expect_error([str(q)], "eth.csv", "no data rows")


def test_error_no_time_column(tmp_path):
    p = _write(tmp_path, "btc.csv", "when,close\n2024-01-01,1\n")
    e = _expect_error([str(p)], "btc.csv", "no date/time column", "when")
    assert e.field == "date"


def test_error_no_close_column(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,open,high,low\n2024-01-01,1,2,0.5\n")
    e = _expect_error([str(p)], "btc.csv", "no close column", "open, high, low")
    assert e.field == "close"


def test_error_unknown_wide_column(tmp_path):
    p = _write(tmp_path, "closes.csv", "date,BTC,my notes\n2024-01-01,1,ok\n")
    e = _expect_error([str(p)], "closes.csv", "'my notes'", "neither")
    assert e.field == "my notes"


def test_error_headerless_three_columns(tmp_path):
    p = _write(tmp_path, "btc.csv", "2024-01-01,1,2\n")
    _expect_error([str(p)], "btc.csv", "no header row and 3 columns")


def test_error_ragged_row(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,close\n2024-01-01,1\n2024-01-02,2,3\n")
    _expect_error([str(p)], "btc.csv:row 3", "3 fields")


def test_error_unparseable_date(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,close\n2024-01-01,1\n2024-13-45,2\n")
    e = _expect_error([str(p)], "btc.csv:row 3", "'2024-13-45'", "unparseable")
    assert e.field == "date" and e.value == "2024-13-45"
    q = _write(tmp_path, "eth.csv", "date,close\n2024-01-01,1\nyesterday,2\n")
    _expect_error([str(q)], "eth.csv:row 3", "'yesterday'")
    r = _write(tmp_path, "sol.csv", "timestamp,close\n1704067200,1\n1704153600x,2\n1704240000,3\n")
    _expect_error([str(r)], "sol.csv:row 3", "'1704153600x'")
    s = _write(tmp_path, "xrp.csv", "date,close\n2024-01-01,1\n,2\n")
    _expect_error([str(s)], "xrp.csv:row 3", "missing date")


@pytest.mark.parametrize("cell, reason", [
    ("abc", "not a number"), ("NaN", "NaN"), ("inf", "infinite"),
    ("0", "greater than 0"), ("-5", "greater than 0"),
])
def test_error_bad_price(tmp_path, cell, reason):
    p = _write(tmp_path, "btc.csv",
               f"date,open,high,low,close\n2024-01-01,1,2,0.5,1\n2024-01-02,1,2,0.5,{cell}\n")
    e = _expect_error([str(p)], "btc.csv:row 3", f"'{cell}'", reason)
    assert e.field == "close" and e.value == cell


def test_error_bad_price_in_wide_and_missing_close(tmp_path):
    p = _write(tmp_path, "w.csv", "date,BTC,ETH\n2024-01-01,1,2\n2024-01-02,1,x2\n")
    e = _expect_error([str(p)], "w.csv:row 3", "'x2'")
    assert e.field == "ETH"
    q = _write(tmp_path, "btc.csv", "date,open,close\n2024-01-01,1,1\n2024-01-02,1,null\n")
    _expect_error([str(q)], "btc.csv:row 3", "missing close", "'null'")


def test_error_headerless_names_columns(tmp_path):
    p = _write(tmp_path, "BTCUSDT-1m.csv", _kline_rows([1760054400000], 1000)
               + "1760054460000,1,2,0.5,abc,1,1,1,1,1,1,0\n")
    e = _expect_error([str(p)], "BTCUSDT-1m.csv:row 2", "'abc'")
    assert e.field == "close"


@pytest.mark.parametrize("row, message, field", [
    ("2024-01-01,10,11,9,12", "close 12 is above the bar's high 11", "close"),
    ("2024-01-01,10,11,9,8", "close 8 is below the bar's low 9", "close"),
    ("2024-01-01,12,11,9,10", "open 12 is above the bar's high 11", "open"),
    ("2024-01-01,8,11,9,10", "open 8 is below the bar's low 9", "open"),
])
def test_bar_outside_its_high_and_low_is_refused(tmp_path, row, message, field):
    p = _write(tmp_path, "btc.csv", f"date,open,high,low,close\n{row}\n")
    e = _expect_error([str(p)], "btc.csv:row 2", message)
    assert e.field == field


def test_range_of_a_closes_only_column_is_the_close(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,close\n2024-01-01,8\n2024-01-02,9\n")
    ph = load_price_history([str(p)])
    assert (ph.high[1, 0], ph.low[1, 0], ph.close[1, 0]) == (9, 9, 9)


@pytest.mark.parametrize("cell, message", [
    ("1e308", "must be below 1e15"), ("1e15", "must be below 1e15"),
    ("1e-13", "must be at least 1e-12"), ("inf", "price is infinite"),
    ("1e400", "must be below 1e15"), ("9" * 400, "must be below 1e15"),
])
def test_price_out_of_range_is_refused(tmp_path, cell, message):
    p = _write(tmp_path, "btc.csv", f"date,close\n2024-01-01,100\n2024-01-02,{cell}\n")
    e = _expect_error([str(p)], "btc.csv:row 3", message)
    assert e.field == "close"


def test_pricehistory_validates_shapes():
    t = np.array(["2024-01-02", "2024-01-01"], dtype="datetime64[ns]")
    a = np.ones((2, 1))
    with pytest.raises(ValueError, match="increasing"):
        PriceHistory(t, ("BTC",), a, a, a, a, np.array([True]), ("x",))
    with pytest.raises(ValueError, match="shape"):
        PriceHistory(t[::-1], ("BTC",), a, a, np.ones((2, 2)), a, np.array([True]), ("x",))


def test_error_high_below_low(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,open,high,low,close\n2024-01-01,10,9,11,10\n")
    e = _expect_error([str(p)], "btc.csv:row 2", "high 9 is below low 11", "'9'")
    assert e.field == "high"


def test_error_duplicate_timestamp(tmp_path):
    p = _write(tmp_path, "btc.csv", "date,close\n2024-01-02,1\n2024-01-01,2\n2024-01-02,3\n")
    e = _expect_error([str(p)], "btc.csv:row 4", "duplicate timestamp 2024-01-02",
                      "also on row 2", "'2024-01-02'")
    assert e.field == "date"
    # same instant written differently is also a duplicate
    q = _write(tmp_path, "eth.csv", "date,close\n2024-01-01T00:00:00Z,1\n2024-01-01,2\n")
    _expect_error([str(q)], "eth.csv:row 3", "duplicate")


def test_error_no_overlap(tmp_path):
    a = _write(tmp_path, "btc.csv", "date,close\n2024-01-01,1\n2024-01-02,1\n")
    b = _write(tmp_path, "eth.csv", "date,close\n2024-02-01,1\n2024-02-05,1\n")
    _expect_error([str(a), str(b)], "btc.csv", "eth.csv", "no dates in common",
                  "2024-01-01 to 2024-01-02", "2024-02-01 to 2024-02-05")


def test_error_asset_not_determinable(tmp_path):
    p = _write(tmp_path, "prices.csv", "date,close\n2024-01-01,1\n")
    e = _expect_error([str(p)], "prices.csv", "cannot tell which asset")
    assert e.field == "asset"
    assert load_price_history([str(p)], default_asset="eth").assets == ("ETH",)
    assert load_price_history([f"SOL={p}"]).assets == ("SOL",)


def test_error_same_asset_twice(tmp_path):
    a = _write(tmp_path, "BTC-USDT_daily.csv", "date,close\n2024-01-01,1\n")
    b = _write(tmp_path, "btc.csv", "date,close\n2024-01-01,1\n")
    _expect_error([str(a), str(b)], "BTC-USDT_daily.csv", "btc.csv", "same asset BTC")
    _expect_error([str(a), f"BTC={b}"], "same asset BTC")
    w = _write(tmp_path, "w.csv", "date,BTC,BTC-USD\n2024-01-01,1,1\n")
    _expect_error([str(w)], "w.csv", "same asset", "'BTC-USD'")
    lg = _write(tmp_path, "l.csv", "date,symbol,close\n2024-01-01,BTCUSDT,1\n"
                "2024-01-01,BTC-USD,1\n")
    _expect_error([str(lg)], "l.csv:row 3", "same asset", "'BTC-USD'")


def test_error_asset_not_in_multi_asset_file(tmp_path):
    w = _write(tmp_path, "w.csv", "date,BTC,ETH\n2024-01-01,1,1\n")
    _expect_error([f"SOL={w}"], "w.csv", "SOL", "BTC, ETH")
    lg = _write(tmp_path, "l.csv", "date,asset,close\n2024-01-01,BTC,1\n")
    _expect_error([("DOGE", str(lg))], "l.csv", "DOGE")


def test_error_bad_long_symbol_and_no_specs(tmp_path):
    lg = _write(tmp_path, "l.csv", "date,asset,close\n2024-01-01,BTC,1\n2024-01-02,,1\n")
    _expect_error([str(lg)], "l.csv:row 3", "missing asset")
    with pytest.raises(InputError, match="no price files"):
        load_price_history([])


@pytest.mark.parametrize("name, text", [
    ("btc.csv", "date,open,high,low,close,volume\n2024-01-02T00:00:00Z,2,3,1,2.5,9\n"
                "2024-01-01T00:00:00Z,1,,0.5,2,9\n\n2024-01-03T00:00:00Z,2.5,4,2,3,\n"),
    ("w.csv", "timestamp,BTC,ETH\n1704067200000,42000.5,\n1704153600000,43000,2300.25\n"),
    ("l.csv", 'date,symbol,close\n2024-01-01,BTCUSDT,"42,000.5"\n2024-01-01,ETHUSDT,"2,299.5"\n'
              "2024-01-02,BTCUSDT,42100\n2024-01-02,ETHUSDT,2300\n"),
])
def test_fast_and_text_readings_agree(tmp_path, name, text):
    """The typed (fast) table and the all-text table give the same series."""
    from engine.prices import csv_reader as cr
    p = _write(tmp_path, name, text)
    data = cr._read_bytes(str(p))
    fast = cr._series(cr._read_table(str(p), data, typed=True), None, str(p), None)
    slow = cr._series(cr._read_table(str(p), data, typed=False), None, str(p), None)
    assert [s.asset for s in fast] == [s.asset for s in slow]
    for a, b in zip(fast, slow):
        for k in ("times", "open", "high", "low", "close"):
            assert np.array_equal(getattr(a, k), getattr(b, k)), (a.asset, k)
