"""Venue presets: maintenance-margin tier tables of perp venues and Aave v3 parameters.

Tables live in ``resources/venues.json``, ``resources/collateral_ratios.json`` and
``resources/aave_v3.json`` (snapshots cited there). A :class:`TierTable` gives the maintenance margin as a function of notional:
``MM(N) = N*mmr_k - cum_k`` for the tier k holding N. Because ``cum`` follows the
recursion ``cum_n = cum_{n-1} + floor_n*(mmr_n - mmr_{n-1})``, MM is continuous and convex
in N, so ``MM(N) = max_k (N*mmr_k - cum_k)`` over all tiers; the vectorised code uses that.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .errors import InputError
from .resources import load_json_resource

ASSET_ALIASES = {"WBTC": "BTC", "CBBTC": "BTC", "WETH": "ETH"}


@dataclass(frozen=True)
class TierTable:
    """Tiered maintenance margin of one contract on one venue.

    Attributes
    ----------
    floors, caps : ndarray of shape (n_tiers,)
        Tier bounds, in USD notional (``basis == "notional"``) or base quantity
        (``basis == "quantity"``); the last cap is ``inf``.
    mmr, cum : ndarray of shape (n_tiers,)
        Maintenance margin rate and maintenance amount (deduction) per tier.
    max_leverage : ndarray of shape (n_tiers,)
    """

    venue: str
    asset: str
    floors: np.ndarray
    caps: np.ndarray
    mmr: np.ndarray
    cum: np.ndarray
    max_leverage: np.ndarray
    basis: str = "notional"         # "notional" (USD), "quantity" (base units), "coin" (inverse)

    def index(self, amount: float) -> int:
        """Tier index holding ``amount`` (notional or quantity); beyond the table: last tier."""
        k = int(np.searchsorted(self.caps, amount, side="left"))
        # tiers are floor < amount <= cap; amount exactly at 0 belongs to tier 0
        return min(k, len(self.caps) - 1)

    def maintenance(self, notional):
        """MM(N) = max_k (N*mmr_k - cum_k); any array shape of N (notional basis)."""
        n = np.asarray(notional, dtype=float)
        return np.max(n[..., None] * self.mmr - self.cum, axis=-1)

    def max_leverage_at(self, notional: float) -> float:
        return float(self.max_leverage[self.index(notional)])


def _table_from_json(venue: str, asset: str, rows: list[dict], basis: str) -> TierTable:
    floors = np.array([float(r.get("floor", 0.0)) for r in rows])
    caps = np.array([np.inf if r.get("cap") is None else float(r["cap"]) for r in rows])
    mmr = np.array([float(r["mmr"]) for r in rows])
    cum = np.array([float(r.get("cum", 0.0)) for r in rows])
    lev = np.array([float(r.get("max_leverage", 1.0 / (2.0 * r["mmr"]))) for r in rows])
    caps[-1] = np.inf
    return TierTable(venue, asset, floors, caps, mmr, cum, lev, basis)


@lru_cache(maxsize=None)
def _venues() -> dict:
    return load_json_resource("venues.json")["venues"]


def venue_names() -> tuple[str, ...]:
    return tuple(_venues())


def venue_info(venue: str) -> dict:
    try:
        return _venues()[venue]
    except KeyError:
        raise InputError(f"unknown venue; known venues are {', '.join(venue_names())}",
                         field="venue", value=venue) from None


def venue_formula(venue: str | None) -> str:
    """Liquidation formula family of a venue: binance (generic), bybit, okx or hyperliquid."""
    if venue is None:
        return "binance"
    return venue_info(venue).get("formula", venue)


@lru_cache(maxsize=None)
def tier_table(venue: str, asset: str, contract: str = "linear") -> TierTable | None:
    """The tier table of ``asset`` on ``venue`` (``contract`` "inverse": the coin-margined
    table, in coin), or None where the snapshot has none."""
    info = venue_info(venue)
    if contract == "inverse":
        info = info.get("inverse") or {}
    asset = ASSET_ALIASES.get(asset.upper(), asset.upper())
    rows = info.get("tiers", {}).get(asset)
    if not rows:
        return None
    return _table_from_json(venue, asset, rows, info.get("tier_basis", "notional"))


def inverse_contract_size(venue: str, asset: str) -> float | None:
    """USD per contract of ``asset``'s coin-margined perp on ``venue`` (None: not bundled)."""
    sizes = (venue_info(venue).get("inverse") or {}).get("contract_size", {})
    asset = ASSET_ALIASES.get(asset.upper(), asset.upper())
    return float(sizes[asset]) if asset in sizes else None


def has_inverse(venue: str) -> bool:
    """Whether the bundled data models ``venue``'s coin-margined perps."""
    return bool(venue_info(venue).get("inverse"))


DEFAULT_FUNDING_INTERVAL_HOURS = 8.0


def funding_interval_hours(venue: str | None) -> float:
    """The venue's default funding interval (8 h; Hyperliquid 1 h)."""
    if venue is None:
        return DEFAULT_FUNDING_INTERVAL_HOURS
    return float(venue_info(venue).get("funding_interval_hours", DEFAULT_FUNDING_INTERVAL_HOURS))


def returns_remaining_margin(venue: str | None) -> tuple[bool, float]:
    """(the venue returns a liquidated isolated position's remaining margin, backstop
    fraction of maintenance below which it takes all): Hyperliquid (True, 2/3)."""
    if venue is None:
        return False, 0.0
    info = venue_info(venue)
    if info.get("liquidation_rule") == "returns_remaining_margin":
        return True, float(info.get("backstop_fraction", 2.0 / 3.0))
    return False, 0.0


def single_tier(mmr: float, cum: float = 0.0, venue: str = "explicit", asset: str = "") -> TierTable:
    """A one-row table for an explicit ``maintenance_margin_rate`` / ``maintenance_amount``."""
    return TierTable(venue, asset, np.array([0.0]), np.array([np.inf]), np.array([float(mmr)]),
                     np.array([float(cum)]), np.array([np.inf]), "notional")


def taker_fee(venue: str | None) -> float:
    """Fee term of OKX's liquidation formula (0 for the other venues)."""
    if venue is None:
        return 0.0
    return float(venue_info(venue).get("taker_fee", 0.0)) if venue_formula(venue) == "okx" else 0.0


# --------------------------------------------------------------------------- collateral ratios
@dataclass(frozen=True)
class CollateralRatio:
    """A venue's collateral ratio for one asset: ``ratios[k]`` applies to the slice of the
    holding between ``floors[k]`` and ``caps[k]`` (coin or USD value, per ``basis``)."""

    venue: str
    asset: str
    floors: np.ndarray
    caps: np.ndarray
    ratios: np.ndarray
    basis: str = "usd"              # "usd" (value at the path price) or "coin" (quantity)


@lru_cache(maxsize=None)
def _collateral_tables() -> dict:
    return load_json_resource("collateral_ratios.json")["venues"]


def collateral_ratio(venue: str | None, asset: str) -> CollateralRatio | None:
    """``venue``'s published collateral ratio of ``asset`` (None: not in the bundled table)."""
    if venue is None:
        return None
    info = _collateral_tables().get(venue)
    if info is None:
        return None
    name = asset.upper()
    for row in info.get("assets", []):
        if row["asset"].upper() != name:
            continue
        tiers = row.get("tiers") or [{"floor": 0.0, "cap": None, "ratio": row["ratio"]}]
        floors = np.array([float(t.get("floor", 0.0)) for t in tiers])
        caps = np.array([np.inf if t.get("cap") is None else float(t["cap"]) for t in tiers])
        ratios = np.array([float(t["ratio"]) for t in tiers])
        return CollateralRatio(venue, name, floors, caps, ratios, info.get("tier_basis", "usd"))
    return None


def collateral_source(venue: str | None) -> str:
    """The cited source of ``venue``'s collateral table ('' when none)."""
    return "" if venue is None else _collateral_tables().get(venue, {}).get("source", "")


# --------------------------------------------------------------------------- Aave v3
@lru_cache(maxsize=None)
def _aave() -> dict:
    return load_json_resource("aave_v3.json")


def aave_reserve(asset: str) -> dict | None:
    """Aave v3 (Ethereum Core) parameters of a collateral asset: {'ltv','lt','bonus'} or None."""
    data = _aave()
    reserves = data.get("reserves", data.get("assets", {}))
    name = asset.upper()
    aliases = {k.upper(): v for k, v in data.get("aliases", {}).items()}
    for key in (name, aliases.get(name, name)):
        for rk, rv in reserves.items():
            if rk.upper() == key.upper():
                return rv
    return None


def aave_close_factor_threshold() -> float:
    return float(_aave().get("close_factor_hf_threshold", 0.95))


def contract_value(venue: str, asset: str) -> float | None:
    """Base units per contract of ``asset``'s USDT swap on ``venue`` (OKX ``ctVal``), from
    the bundled ``face_value`` table; None where it has none."""
    value = venue_info(venue).get("face_value", {}).get(asset.upper())
    return None if value is None else float(value)


def aave_rate(asset: str, key: str) -> float | None:
    """The bundled default ``borrow_apy`` / ``supply_apy`` of an Aave v3 reserve (None: none)."""
    res = aave_reserve(asset)
    if res is None or res.get(key) is None:
        return None
    return float(res[key])
