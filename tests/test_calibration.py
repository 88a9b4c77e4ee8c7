"""The Monte Carlo model's calibration: the fit recovers known parameters, an imported
history is fitted by the same code as the bundled file, and the bundled model matches the
data's 30-day figures (needs the shared price data; skipped without it)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.calibration import (ModelCalibration, fit_history, fit_returns, returns_from_files, window_moves,
                                window_stats)
from engine.path_models import build_path_model, bundled_model
from engine.prices import PriceHistory

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PRICES = SHARED / "data" / "prices"
needs_data = pytest.mark.skipif(not (PRICES / "daily" / "BTC-USDT_daily.csv").exists(),
                                reason=f"shared price data not found at {PRICES}")


def _gjr_t(n, seed, a_up=0.05, a_down=0.15, b=0.8, nu=6.0, vol=0.03):
    """Synthetic BTC (GJR-GARCH, unit-variance t shocks) and an altcoin with betas 1.0 up,
    1.6 down and its own noise."""
    rng = np.random.default_rng(seed)
    e = rng.standard_t(nu, n) * math.sqrt((nu - 2) / nu)
    w = 1 - a_up * 0.5 - a_down * 0.5 - b
    g = 1.0
    r = np.empty(n)
    for t in range(n):
        r[t] = vol * math.sqrt(g) * e[t]
        g = w + (a_down if e[t] < 0 else a_up) * g * e[t] ** 2 + b * g
    f = r - np.median(r)
    alt = np.where(f > 0, 1.0, 1.6) * f + 0.02 * rng.standard_t(nu, n) * math.sqrt((nu - 2) / nu)
    return r, alt


def test_fit_recovers_known_parameters():
    r, alt = _gjr_t(6000, 1)
    days = np.datetime64("2010-01-01") + np.arange(len(r)).astype("timedelta64[D]")
    fit = fit_returns(days, np.column_stack([r, alt]), ["BTC", "ALT"], 365.0)
    f = fit.factor
    assert f.a_down > 2 * f.a_up                      # falls raise the variance more than rises
    assert f.persistence == pytest.approx(0.9, abs=0.05)
    assert 4.5 <= f.df <= 12
    assert f.vol == pytest.approx(np.std(r) * math.sqrt(365), rel=1e-6)
    assert np.mean(f.start) == pytest.approx(1.0) and min(f.start) < 0.7 < 1.5 < max(f.start)
    a = fit.assets["ALT"]
    assert a.beta_up == pytest.approx(1.0, abs=0.08) and a.beta_down == pytest.approx(1.6, abs=0.08)
    assert a.idio_up == pytest.approx(a.idio_down, rel=0.15)
    assert a.idio_up == pytest.approx(0.02 * math.sqrt(365), rel=0.2)
    # stored and read back: the same numbers (rounded)
    back = ModelCalibration.from_dict(json.loads(json.dumps(fit.to_dict())))
    assert back.assets["ALT"].beta_down == pytest.approx(a.beta_down, abs=1e-4)
    assert back.factor.b == pytest.approx(f.b, abs=1e-6)


def test_an_imported_history_is_fitted_by_the_same_code():
    r, alt = _gjr_t(900, 2)
    n = len(r) + 1
    times = np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[D]")
    close = 100.0 * np.exp(np.concatenate([[[0.0, 0.0]], np.cumsum(np.column_stack([r, alt]), axis=0)]))
    h = PriceHistory(times=times, assets=("BTC", "SOL"), open=close, high=close * 1.01, low=close * 0.99,
                     close=close, has_ohlc=np.ones(2, bool), sources=("synthetic",))
    fit = fit_history(h, 1)
    direct = fit_returns(times[1:], np.column_stack([r, alt]), ["BTC", "SOL"], 365.0)
    assert fit.factor.b == pytest.approx(direct.factor.b) and fit.assets["SOL"].beta_down == pytest.approx(
        direct.assets["SOL"].beta_down)
    m = build_path_model(("BTC", "SOL", "ETH"), np.array([85000.0, 121.0, 2950.0]), model="student-t",
                         days=10, history=h)
    assert m.factor.b == pytest.approx(fit.factor.b) and m.garch_every == 1
    sol = next(c for c in m.calib if c.asset == "SOL")
    eth = next(c for c in m.calib if c.asset == "ETH")
    assert sol.source == "history" and sol.beta_down == pytest.approx(fit.assets["SOL"].beta_down)
    assert eth.source == "calibration"                  # not in the history: the bundled fit
    assert any("fitted to the price history" in x for x in m.notes)
    assert m.describe()["source"]["fit"] == "price history"


def test_bundled_calibration_says_where_it_comes_from():
    from engine.scenarios import calibration
    sec = calibration()["student_t"]
    for key in ("created", "script", "source", "source_files", "window", "method"):
        assert sec[key], key
    assert sec["window"]["from"] == "2022-01-01" and sec["window"]["dynamics_from"] == "2017-08-18"  # first return after the first close
    assert all(f.startswith("daily/") for f in sec["source_files"])
    fit = bundled_model()
    assert fit.factor.a_down > fit.factor.a_up          # the data's asymmetry
    for a, x in fit.assets.items():
        assert x.beta_down > x.beta_up, a                 # altcoins fall harder with BTC than they rise


# --------------------------------------------------------------------------- against the data
def _data():
    sys.path.insert(0, str(ROOT / "scripts"))
    from calibrate import ASSETS, files_for
    files = {a: [PRICES / f for f in files_for(a)] for a in ASSETS}
    days, R, _ = returns_from_files(files, "2022-01-01")
    return ASSETS, R


def _windows(r, rb, horizon=30):
    x = np.concatenate([[0.0], np.cumsum(r)])
    xb = np.concatenate([[0.0], np.cumsum(rb)])
    idx = np.arange(len(x) - horizon)[None, :] + np.arange(horizon + 1)[:, None]
    return window_moves(x[idx]) + (xb[idx][-1] - xb[idx][0],)


@pytest.fixture(scope="module")
def model_paths():
    assets = _data()[0] if PRICES.exists() else ()
    if not assets:
        pytest.skip(f"shared price data not found at {PRICES}")
    m = build_path_model(tuple(assets), np.ones(len(assets)), model="student-t", days=30)
    lc, _, _ = m.simulate(np.random.default_rng(4), 60000)
    return lc.astype(float)


@needs_data
def test_model_matches_the_data_30_day_quantiles_per_asset(model_paths):
    """Every asset, every 30-day window since 2022 (the data's mean log return removed: the
    model has no drift). Stated tolerances: the 5th to 75th percentiles of the 30-day return
    within 6 points, P(< -30 %) within 4 points, the 95th percentile of the 30-day drawdown
    within 9 points; the 95th percentile of the return is at most 25 points below the data's
    (known: the model's upside is thinner -- months-long rallies are trends a zero-drift
    model does not make; docs/montecarlo.md)."""
    assets, R = _data()
    for j, a in enumerate(assets):
        ok = np.isfinite(R[:, j]) & np.isfinite(R[:, 0])
        r = R[ok, j] - R[ok, j].mean()
        d = window_stats(*_windows(r, R[ok, 0])[:2])
        s = window_stats(*window_moves(model_paths[:, j, :]))
        for q in ("q0.05", "q0.25", "q0.5", "q0.75"):
            assert abs(s[q] - d[q]) <= 0.06, (a, q, s[q], d[q])
        assert abs(s["p_below_30"] - d["p_below_30"]) <= 0.04, (a, s["p_below_30"], d["p_below_30"])
        assert abs(s["dd0.95"] - d["dd0.95"]) <= 0.09, (a, s["dd0.95"], d["dd0.95"])
        assert -0.25 <= s["q0.95"] - d["q0.95"] <= 0.06, (a, s["q0.95"], d["q0.95"])


@needs_data
def test_the_issue_s_named_figures(model_paths):
    """DOGE's 30-day P(< -30 %) near the data's 6.3 % (was 18.5 %); SOL follows BTC's falls
    (30-day beta and its mean move when BTC falls 20 %) closer to the data than before (1.18,
    -28 %); BTC's 99th percentile 30-day drawdown near the data's since 2022 (39.5 %)."""
    assets, R = _data()
    b = assets.index("BTC")
    btc_move = model_paths[-1, b] - model_paths[0, b]

    def data(a, demean=False):
        j = assets.index(a)
        ok = np.isfinite(R[:, j]) & np.isfinite(R[:, b])
        return window_stats(*_windows(R[ok, j], R[ok, b]))

    def model(a):
        return window_stats(*window_moves(model_paths[:, assets.index(a), :]), btc_move)

    assert data("DOGE")["p_below_30"] == pytest.approx(0.063, abs=0.001)
    assert abs(model("DOGE")["p_below_30"] - 0.063) < 0.02
    sol_d, sol_m = data("SOL"), model("SOL")
    assert sol_d["beta"] == pytest.approx(1.58, abs=0.01) and sol_d["down20"] == pytest.approx(-0.352, abs=0.002)
    assert 1.3 < sol_m["beta"] < 1.7 and -0.40 < sol_m["down20"] < -0.31
    assert bundled_model().assets["SOL"].beta_down > bundled_model().assets["SOL"].beta
    assert data("BTC")["dd0.99"] == pytest.approx(0.395, abs=0.002)
    assert abs(model("BTC")["dd0.99"] - 0.395) < 0.04


@needs_data
def test_the_bundled_fit_is_what_the_script_computes():
    sys.path.insert(0, str(ROOT / "scripts"))
    from calibrate import returns_table
    days, R = returns_table(PRICES, "2000-01-01", None)
    from calibrate import ASSETS
    fit = fit_returns(days, R, ASSETS, 365.0, level_from=np.datetime64("2022-01-01", "D"))
    bundled = bundled_model()
    assert fit.factor.b == pytest.approx(bundled.factor.b, abs=1e-5)
    assert fit.factor.vol == pytest.approx(bundled.factor.vol, abs=1e-5)
    for a, x in fit.assets.items():
        assert x.beta_down == pytest.approx(bundled.assets[a].beta_down, abs=1e-3), a
        assert x.idio_up == pytest.approx(bundled.assets[a].idio_up, abs=1e-4), a
