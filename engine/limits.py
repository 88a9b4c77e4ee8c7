"""The bounds of every input, in one place, and why each is what it is.

CrashLab multiplies quantities by prices, prices by moves raised to betas, and sums the
results over paths and positions. Each bound below keeps that arithmetic finite in float64
(the largest float is about 1.8e308) with a wide margin, while staying far outside anything
a real portfolio holds. A value outside a bound is refused with an :class:`InputError`
naming the field and the value; nothing is clipped or guessed.

Amounts (checked by :func:`engine.portfolio` field parsing and the price-file reader)
    Quantities, prices and USD amounts are below ``MAX_AMOUNT`` = 1e15 in magnitude: the
    largest coin supplies in circulation are ~1e15 units (and a holding is far less), the
    largest prices ~1e5 USD, the largest balances ~1e11 USD. Quantities and prices that
    must be positive are at least ``MIN_AMOUNT`` = 1e-12 (a satoshi is 1e-8 BTC; the
    cheapest listed tokens trade near 1e-9 USD). So a value is at most 1e15 * 1e15 = 1e30
    and a liquidation price, which divides an amount by a quantity and a threshold, at
    most ~1e54.
Moves and betas (:mod:`engine.scenarios`, the Monte Carlo request)
    An instant move is between -100 % (the asset goes to zero, which is valid) and
    ``MAX_MOVE`` = +10,000 % (a 101-fold rise). A beta to BTC is within +-``MAX_BETA`` = 10
    (calibrated crypto betas are 0.5-2). With both, a shocked price is at most
    1e15 * 101**10 ~ 1e35. A negative beta under a -100 % BTC move would send a price to
    infinity and is refused.
Volatility (Monte Carlo)
    An annual vol of log returns is at most ``MAX_VOL`` = 10 (1,000 %; the most volatile
    listed tokens run at 1-3). Over the whole horizon the vol times the square root of the
    years is at most ``MAX_HORIZON_SD`` = 12: the simulated log prices are held in float32,
    whose exponential overflows above ~88, so a 7-sigma path stays finite.
Files and text
    A portfolio file (JSON or holdings CSV) is at most ``MAX_PORTFOLIO_BYTES`` (64 MB; the
    demo is 2 kB); JSON nests at most ``MAX_JSON_DEPTH`` (64) levels (the format needs 4)
    and an integer has at most 4,300 digits (Python's own limit, reported as an error).
    Ids and names are printable text of at most ``MAX_TEXT_LEN`` (200) characters: no
    control characters, no lone surrogates (they cannot be written as UTF-8) and no
    bidirectional overrides or isolates (they make one id look like another).
"""
from __future__ import annotations

MAX_AMOUNT = 1e15
MIN_AMOUNT = 1e-12
MAX_MOVE = 100.0                # +10,000 %
MIN_MOVE = -1.0                 # -100 %: to zero
MAX_BETA = 10.0
MAX_VOL = 10.0
MAX_HORIZON_SD = 12.0
MAX_PORTFOLIO_BYTES = 64 << 20
MAX_JSON_DEPTH = 64
MAX_TEXT_LEN = 200

#: Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the
#: invisible direction marks (U+200E, U+200F, U+061C): refused in ids and names.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                          "\u200e\u200f\u061c")


def fmt_bound(x: float) -> str:
    """A bound as people write it: ``1e15 -> '1e15'``, ``1e-12 -> '1e-12'``, ``10 -> '10'``."""
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-3):
        mant, exp = f"{x:e}".split("e")
        return f"{mant.rstrip('0').rstrip('.')}e{int(exp)}"
    return f"{x:g}"


def pct_text(fraction: float) -> str:
    """A move bound as people write it: ``-1 -> '-100 %'``, ``100 -> '+10,000 %'``."""
    return f"{fraction * 100:+,.0f} %"
