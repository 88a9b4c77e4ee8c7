"""Aave v3: a ``userReserves`` answer of the Aave protocol subgraph (schema:
aave/protocol-subgraphs ``schemas/v3.schema.graphql``, read 2026-02), as
``{"data": {"userReserves": [...]}}``, ``{"userReserves": [...]}`` or a user's
``reserves``.

Each user reserve is read with its ``reserve`` (``symbol``, ``decimals``,
``reserveLiquidationThreshold``, ``reserveLiquidationBonus``, optional ``eMode``) and
``user`` (``id``, optional ``eModeCategoryId``):

* raw token units are divided by ``10**decimals``;
* thresholds and bonuses are basis points: LT ``8300`` is 0.83, bonus ``10500`` is 0.05;
  in the user's eMode category (when the file shows the reserve belongs to it) the
  category's LT and bonus apply;
* supplied ``currentATokenBalance`` used as collateral (``usageAsCollateralEnabledOnUser``,
  LT > 0) is a collateral leg; other supplies are spot positions;
* ``currentVariableDebt + currentStableDebt`` are the debt legs (liabilities as loan debt);
* one loan per user (preset ``aave-v3``: close factor and small-position rules);
* prices only when the file gives them in USD: ``price.priceInUsd``, or ``price.priceInEth``
  over ``price.oracle.baseCurrencyUnit`` (v3 markets quote in USD).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import Draft, Imported, symbol_of

KIND = "Aave v3 subgraph userReserves"


def _reserves(obj: Any) -> tuple[list | None, str]:
    if isinstance(obj, dict):
        data = obj.get("data", obj)
        if isinstance(data, dict):
            if isinstance(data.get("userReserves"), list):
                return data["userReserves"], "data.userReserves" if "data" in obj else "userReserves"
            user = data.get("user")
            if isinstance(user, dict) and isinstance(user.get("reserves"), list):
                return [{**r, "user": {k: v for k, v in user.items() if k != "reserves"}}
                        for r in user["reserves"]], "data.user.reserves"
    return None, ""


def sniff(obj: Any) -> str | None:
    items, _ = _reserves(obj)
    if items is not None and all(isinstance(x, dict) and isinstance(x.get("reserve"), dict)
                                 for x in items):
        return KIND
    return None


def read(path: Path, obj: Any) -> Imported:
    draft = Draft(path, KIND)
    items, prefix = _reserves(obj)
    users: dict[str, dict] = {}
    for i, ur in enumerate(items):
        where = f"{prefix}[{i}]"
        res = ur["reserve"]
        user = ur.get("user") if isinstance(ur.get("user"), dict) else {}
        uid = str(user.get("id") or "user")
        u = users.setdefault(uid, {"collateral": [], "debt": [], "supplied": []})
        asset = symbol_of(res.get("symbol", ""))
        decimals = draft.num(res.get("decimals"), f"{where}.reserve.decimals", nonnegative=True)
        scale = 10.0 ** decimals
        supplied = draft.num(ur.get("currentATokenBalance", 0), f"{where}.currentATokenBalance",
                             nonnegative=True, raw_units=True) / scale
        debt = (draft.num(ur.get("currentVariableDebt", 0), f"{where}.currentVariableDebt",
                          nonnegative=True, raw_units=True)
                + draft.num(ur.get("currentStableDebt", 0) or 0, f"{where}.currentStableDebt",
                            nonnegative=True, raw_units=True)) / scale
        _price(draft, asset, res, where)
        lt, bonus = _thresholds(draft, res, user, where)
        if supplied > 0:
            if ur.get("usageAsCollateralEnabledOnUser", True) in (True, "true") and lt > 0:
                u["collateral"].append({"asset": asset, "quantity": supplied,
                                        "liquidation_threshold": lt, "liquidation_bonus": bonus})
            else:
                u["supplied"].append((asset, supplied))
        if debt > 0:
            u["debt"].append({"asset": asset, "quantity": debt})
    for uid, u in users.items():
        short = uid[:10]
        for asset, qty in u["supplied"]:
            draft.spot(f"aave-{short}-{asset}", asset, qty)
        if u["debt"]:
            if not u["collateral"]:
                raise draft.error("borrows with no reserve used as collateral", f"user {uid}",
                                  [d["asset"] for d in u["debt"]])
            draft.loan(f"aave-{short}", u["collateral"], u["debt"], preset="aave-v3",
                       extra={"address": uid})
        else:
            for leg in u["collateral"]:        # supplied, nothing borrowed: no liquidation
                draft.spot(f"aave-{short}-{leg['asset']}", leg["asset"], leg["quantity"])
    return draft.done(f"is an {KIND} answer with no supplied or borrowed balance: nothing to "
                      "import")


def _bps(draft: Draft, value: Any, where: str) -> float:
    return draft.num(value, where, nonnegative=True) / 10_000.0


def _thresholds(draft: Draft, res: dict, user: dict, where: str) -> tuple[float, float]:
    """(LT, bonus) of a reserve for its user: the eMode category's where the user is in the
    reserve's category, else the reserve's."""
    lt = _bps(draft, res.get("reserveLiquidationThreshold", 0), f"{where}.reserve.reserveLiquidationThreshold")
    bonus_raw = _bps(draft, res.get("reserveLiquidationBonus", 0), f"{where}.reserve.reserveLiquidationBonus")
    cat = user.get("eModeCategoryId")
    res_cat = res.get("eMode")
    if isinstance(cat, dict) and str(cat.get("id", "0")) != "0":
        if isinstance(res_cat, dict) and str(res_cat.get("id")) == str(cat.get("id")):
            lt = _bps(draft, cat.get("liquidationThreshold"), f"{where}.user.eModeCategoryId.liquidationThreshold")
            bonus_raw = _bps(draft, cat.get("liquidationBonus"), f"{where}.user.eModeCategoryId.liquidationBonus")
        elif res_cat is None:
            draft.note(f"the user is in eMode category {cat.get('id')} but the file does not say "
                       f"whether {res.get('symbol')} belongs to it: its own threshold "
                       f"{lt:.2%} is used (lower or equal: liquidation comes no later)",
                       field_name=f"{where}.reserve.eMode")
    bonus = bonus_raw - 1.0 if bonus_raw >= 1.0 else bonus_raw   # 10500 bps = 105 % = 5 % bonus
    return lt, bonus


def _price(draft: Draft, asset: str, res: dict, where: str) -> None:
    price = res.get("price")
    if not isinstance(price, dict):
        return
    if price.get("priceInUsd") not in (None, ""):
        draft.mark(asset, draft.num(price["priceInUsd"], f"{where}.reserve.price.priceInUsd"))
        return
    oracle = price.get("oracle")
    if price.get("priceInEth") not in (None, "") and isinstance(oracle, dict) \
            and oracle.get("baseCurrencyUnit") not in (None, ""):
        unit = draft.num(oracle["baseCurrencyUnit"], f"{where}.reserve.price.oracle.baseCurrencyUnit",
                         positive=True)
        draft.mark(asset, draft.num(price["priceInEth"], f"{where}.reserve.price.priceInEth") / unit)
