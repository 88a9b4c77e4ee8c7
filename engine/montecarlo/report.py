"""The JSON report of a Monte Carlo run (what ``montecarlo --json`` prints)."""
from __future__ import annotations

import numpy as np

from .request import MonteCarloChunk, MonteCarloRequest, level_key
from .simulate import simulate_chunks


def probability_text(p: float, ci=None, kind: str | None = None) -> str:
    """A probability of liquidation with its 95 % interval, as the CLI and the GUI show it:
    ``3.4 % (3.1-3.7)`` (two decimals below 1 %); a spot holding is ``never (spot)``."""
    if kind == "spot":
        return "never (spot)"
    digits = 2 if p < 0.01 else 1
    text = f"{p * 100:.{digits}f} %"
    if ci is not None:
        text += f" ({ci[0] * 100:.{digits}f}-{ci[1] * 100:.{digits}f})"
    return text


def chunk_to_dict(ch: MonteCarloChunk, request: MonteCarloRequest | None = None,
                  portfolio_name: str | None = None) -> dict:
    """A chunk as a JSON-ready dictionary (the ``montecarlo --json`` output).

    ``fan.levels`` are the quantile keys (``"0.01"`` ... ``"0.99"``, fractions written like
    the ``var`` keys); ``fan.values[i]`` is the series of ``fan.levels[i]``. ``var_ci`` and
    ``cvar_ci`` are keyed like ``var``, each ``[low, high]`` (95 %); every position has its
    ``liquidation_probability_ci``."""
    T1 = ch.n_steps + 1
    steps = np.arange(T1)
    positions = []
    ci = ch.liquidation_probability_ci
    for i, pid in enumerate(ch.position_ids):
        h = ch.liquidation_time_hist[i]
        cnt = int(h.sum())
        row = {"id": pid, "kind": ch.position_kinds[i], "asset": ch.position_assets[i],
               "liquidation_probability": float(ch.liquidation_probability[i]),
               "liquidation_probability_ci": [float(ci[i, 0]), float(ci[i, 1])] if ci is not None else None,
               "expected_liquidation_step": float((h * steps).sum() / cnt) if cnt else None,
               "median_liquidation_step": int(np.searchsorted(np.cumsum(h), cnt / 2.0)) if cnt else None,
               "expected_liquidation_day": float((h * steps).sum() / cnt / ch.steps_per_day) if cnt else None,
               "liquidation_step_histogram": h.tolist(),
               "expected_pnl": float(ch.expected_pnl_by_position[i]) if ch.expected_pnl_by_position is not None else None}
        positions.append(row)
    out = {
        "portfolio": {"name": portfolio_name, "value_before": ch.value_before,
                      "expected_value_after": ch.value_before + ch.expected_pnl,
                      "expected_pnl": ch.expected_pnl, "prob_loss": ch.prob_loss},
        "seed": ch.seed, "model": ch.model, "paths": ch.paths_done, "paths_total": ch.paths_total,
        "days": ch.n_steps // max(1, ch.steps_per_day), "steps_per_day": ch.steps_per_day,
        "steps": ch.n_steps,
        "var": dict(ch.var), "cvar": dict(ch.cvar),
        "var_ci": {k: [float(x) for x in v] for k, v in ch.var_ci.items()},
        "cvar_ci": {k: [float(x) for x in v] for k, v in ch.cvar_ci.items()},
        "sampling": {"antithetic": bool(ch.antithetic), "liq_precision": ch.liq_precision,
                     "stopped_early": bool(ch.stopped_early), "confidence": 0.95},
        "fan": {"levels": [level_key(q) for q in ch.fan_levels], "days": (steps / ch.steps_per_day).tolist(),
                "values": ch.fan.tolist()},
        "loss_histogram": {"pnl_edges": ch.hist_edges.tolist(), "counts": ch.hist_counts.tolist(),
                           "clamped_below_above": list(ch.hist_clamped)},
        "positions": positions,
        "expected_loss_by_asset": dict(ch.expected_loss_by_asset),
        "cascade": ch.cascade_summary,
        "calibration": ch.calibration,
        "notes": list(ch.notes),
        "warnings": list(ch.warnings),
        "elapsed_seconds": ch.elapsed,
    }
    return out


def run_montecarlo(portfolio, request: MonteCarloRequest) -> dict:
    """Run to completion and return the JSON-ready result (see :func:`chunk_to_dict`)."""
    last = None
    for last in simulate_chunks(portfolio, request):
        pass
    name = getattr(portfolio, "name", None)
    return chunk_to_dict(last, request, name)
