"""Loading price files: read each spec and align the series on common timestamps into
one :class:`PriceHistory`."""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from engine.errors import InputError
from engine.parsing import normalize_symbol

from .columns import AssetSeries
from .csv_reader import read_file
from .history import PriceHistory, fmt_time
from .specs import parse_prices_arg

def align(series: list[AssetSeries], sources: tuple[str, ...]) -> PriceHistory:
    starts = np.array([s.times[0] for s in series], dtype="datetime64[ns]")
    ends = np.array([s.times[-1] for s in series], dtype="datetime64[ns]")
    lo, hi = starts.max(), ends.min()
    if lo > hi:
        ranges = "; ".join(f"{s.path} ({s.asset}) {fmt_time(s.times[0])} to "
                           f"{fmt_time(s.times[-1])}" for s in series)
        raise InputError(f"the price files have no dates in common: {ranges}",
                         field="date", value=fmt_time(lo),
                         source=", ".join(dict.fromkeys(s.path for s in series)))
    if len(series) == 1:
        union = series[0].times
    else:
        union = np.unique(np.concatenate(
            [s.times[(s.times >= lo) & (s.times <= hi)] for s in series]))
    n, k = union.shape[0], len(series)
    o = np.empty((n, k)); h = np.empty((n, k)); l = np.empty((n, k)); c = np.empty((n, k))
    for j, s in enumerate(series):
        idx = np.searchsorted(s.times, union, side="right") - 1  # >= 0: s starts <= lo
        exact = s.times[idx] == union
        cc = s.close[idx]
        c[:, j] = cc
        o[:, j] = np.where(exact, s.open[idx], cc)
        h[:, j] = np.where(exact, s.high[idx], cc)
        l[:, j] = np.where(exact, s.low[idx], cc)
    return PriceHistory(times=union, assets=tuple(s.asset for s in series), open=o, high=h,
                        low=l, close=c, has_ohlc=np.array([s.has_ohlc for s in series]),
                        sources=sources)


def load_price_history(specs: Sequence[str | os.PathLike | tuple[str | None, Any]], *,
                       default_asset: str | None = None) -> PriceHistory:
    """Load and align price files.

    Parameters
    ----------
    specs : list of str or (asset, path) tuples
        ``"BTC=btc.csv"``, ``"btc.csv"`` (see :func:`parse_prices_arg`) or
        ``("BTC", "btc.csv")`` / ``(None, "btc.csv")``. Giving an asset for a wide or long
        file selects that asset from it.
    default_asset : str, optional
        Asset of a single-asset file whose spec and file name name none.

    Returns
    -------
    PriceHistory
        ``n_assets`` = total assets over all files, in file order.

    Raises
    ------
    InputError
        Any bad input (missing/empty file, unknown columns, bad date or price, high < low,
        duplicate timestamps, no common dates, unknown asset, same asset twice).
    """
    if isinstance(specs, (str, os.PathLike, tuple)):
        specs = [specs]  # type: ignore[list-item]
    if not specs:
        raise InputError("no price files given", field="prices", value=[])
    default = None
    if default_asset is not None:
        default = normalize_symbol(default_asset)
        if default is None:
            raise InputError("default asset is not a symbol", field="default_asset",
                             value=default_asset)
    series: list[AssetSeries] = []
    origin: dict[str, str] = {}
    sources: list[str] = []
    for spec in specs:
        if isinstance(spec, tuple):
            if len(spec) != 2:
                raise InputError("price spec must be (asset, path)", field="prices", value=spec)
            asset_raw, path = spec
            asset = None
            if asset_raw is not None and str(asset_raw).strip():
                asset = normalize_symbol(asset_raw)
                if asset is None:
                    raise InputError("not an asset symbol", field="asset", value=asset_raw,
                                     source=os.fspath(path))
        elif isinstance(spec, os.PathLike):
            asset, path = None, spec
        else:
            asset, path = parse_prices_arg(spec)
        path = os.fspath(path)
        for s in read_file(asset, path, default):
            if s.asset in origin:
                raise InputError(
                    f"same asset {s.asset} given twice: in {origin[s.asset]} and {path}",
                    field="asset", value=s.asset, source=path)
            origin[s.asset] = path
            series.append(s)
        if path not in sources:
            sources.append(path)
    return align(series, tuple(sources))
