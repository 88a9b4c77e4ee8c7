"""The prepared run: a request checked, the book compiled, the path model calibrated and the
block layout fixed (:func:`prepare`), shared read-only by every worker thread."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..book import Book, compile_book
from ..cascade import CascadeParams
from ..path_models import PathModel, build_path_model
from ..pegs import DepegJumps, monte_carlo_plan
from ..replay import PricePaths, run_book
from .blocks import BlockLayout, BlockSeeds
from .request import MonteCarloRequest, validate_request


@dataclass
class Context:
    book: Book
    model: PathModel
    cascade: CascadeParams | None
    beta_sim: np.ndarray                  # (S,) tail beta of each simulated column (cascade)
    layout: BlockLayout
    seeds: BlockSeeds
    sample_k: int                         # paths whose value series are kept for drawing
    n_steps: int
    low_cols: np.ndarray                  # simulated columns whose lows / highs are drawn
    high_cols: np.ndarray
    book_sim: np.ndarray                  # (A,) simulated column each book column follows, -1: held
    depeg: DepegJumps | None = None       # de-peg jumps of pegged columns (engine.pegs)
    hours: np.ndarray | None = None       # (n_steps + 1,) hours elapsed at each step: costs accrue
    value_today: float = 0.0              # the book at today's (float64) prices

    @property
    def n_paths(self) -> int:
        return self.layout.n_paths

    @property
    def n_blocks(self) -> int:
        return self.layout.n_blocks


def extreme_columns(book: Book, model: PathModel, need_btc_low: bool, book_sim: np.ndarray):
    """Simulated columns whose intra-step lows / highs the book can feel: lows of assets
    held long (isolated or cross), as loan or account collateral, highs of assets held short
    or owed (through ``book_sim``, the simulated column each book column follows: a pegged
    asset's is its base's), and both for an isolated perp on a venue that returns the
    remaining margin (its execution price is clipped into the step's range). Elsewhere a
    step's low and high are its close (no effect on any result)."""
    A = len(book.assets)
    low = np.zeros(A, bool)
    high = np.zeros(A, bool)
    low[book.iso_asset[book.iso_sign > 0]] = True
    high[book.iso_asset[book.iso_sign < 0]] = True
    low[book.cross_asset[book.cross_sign > 0]] = True
    high[book.cross_asset[book.cross_sign < 0]] = True
    low[book.iso_asset[book.iso_returns]] = True
    high[book.iso_asset[book.iso_returns]] = True
    if book.n_collateral:
        low[book.coll_asset] = True
    low |= (book.loan_coll != 0).any(axis=0) if len(book.loan_pos) else False
    high |= (book.loan_debt != 0).any(axis=0) if len(book.loan_pos) else False
    on = book_sim >= 0
    lows = np.unique(book_sim[on & low])
    highs = np.unique(book_sim[on & high])
    if need_btc_low and model.btc_col not in lows:
        lows = np.sort(np.r_[lows, model.btc_col])
    return lows, highs


def prepare(portfolio_or_book, req: MonteCarloRequest) -> Context:
    """Check ``req`` and build the run's :class:`Context` (raises InputError)."""
    validate_request(req)
    if isinstance(portfolio_or_book, Book):
        book = portfolio_or_book
    else:
        book = compile_book(portfolio_or_book)
    plan = monte_carlo_plan(book.assets, book.today, beta_overrides=req.beta_overrides,
                            vols=req.vols, depeg=req.depeg, steps_per_day=req.steps_per_day)
    model = build_path_model(plan.model_assets, plan.model_today, model=req.model, days=req.days,
                             steps_per_day=req.steps_per_day, vols=req.vols, history=req.history,
                             beta_overrides=req.beta_overrides, need_btc=req.cascade is not None,
                             df=req.df, jump_intensity=req.jump_intensity, block_len=req.block_len,
                             antithetic=bool(req.antithetic))
    model.notes.extend(plan.notes)
    book_sim = plan.book_sim(model)
    n_steps = model.n_steps
    layout = BlockLayout.of(int(req.n_paths), n_steps, max(len(book.assets), model.n_sim))
    calib = {c.asset: c for c in model.calib}
    # the cascade moves altcoins through their tail beta (on BTC's down days)
    beta_sim = np.array([1.0 if a == "BTC" else calib[a].crash_beta if a in calib else 1.0
                         for a in model.sim_assets])
    if model.btc_col is not None:
        beta_sim[model.btc_col] = 1.0
    low_cols, high_cols = extreme_columns(book, model, need_btc_low=req.cascade is not None,
                                          book_sim=book_sim)
    today = np.asarray(book.today, float)[None, None, :]
    value_today = float(run_book(book, PricePaths(today), series=False).value[0, 0])
    return Context(book=book, model=model, cascade=req.cascade, beta_sim=beta_sim, layout=layout,
                   seeds=BlockSeeds(int(req.seed)),
                   sample_k=min(int(req.sample_paths), int(req.n_paths)), n_steps=n_steps,
                   low_cols=low_cols, high_cols=high_cols, book_sim=book_sim, depeg=plan.depeg,
                   hours=np.arange(n_steps + 1) * (24.0 / model.steps_per_day),
                   value_today=value_today)
