"""Our liquidation price beside the venue's: the one rule for when they disagree.

An imported position keeps the liquidation price its venue showed
(``venue_liquidation_price``, see :mod:`engine.importers`). :func:`venue_issues` compares it
with ours (a row of :func:`engine.stress.liquidation_prices`): a difference over
:data:`VENUE_TOLERANCE` (1 %) is a warning naming both numbers and the usual causes. The
command line prints it and the desktop app shows it on the venue's cell.
"""
from __future__ import annotations

from .errors import Issue

#: Relative difference between our liquidation price and the venue's that is worth a warning.
VENUE_TOLERANCE = 0.01
CAUSES = ("usual causes: a tier table other than the venue's (the bundled tables are "
          "snapshots), fees or funding in the margin, the other positions of a cross account")


def venue_difference(row: dict) -> float | None:
    """``ours / venue - 1`` for a row with both prices, else None."""
    ours, venue = row.get("liquidation_price"), row.get("venue_liquidation_price")
    if ours is None or venue is None or venue <= 0:
        return None
    return ours / venue - 1.0


def venue_issue(row: dict) -> Issue | None:
    """The warning for one row: our price and the venue's more than 1 % apart, or the venue
    liquidating where we find no price."""
    venue = row.get("venue_liquidation_price")
    if venue is None:
        return None
    ours = row.get("liquidation_price")
    if ours is None:
        return Issue(f"the venue liquidates at {venue:,.6g} but CrashLab finds no liquidation "
                     f"price ({CAUSES})", field="venue_liquidation_price", value=venue,
                     position=row.get("id"), extra={"difference": None})
    d = venue_difference(row)
    if abs(d) <= VENUE_TOLERANCE:
        return None
    return Issue(f"our liquidation price {ours:,.6g} differs from the venue's {venue:,.6g} by "
                 f"{d:+.1%} ({CAUSES})", field="venue_liquidation_price", value=venue,
                 position=row.get("id"), extra={"difference": d})


def venue_issues(rows: list[dict]) -> list[Issue]:
    """The warnings of every row (see :func:`venue_issue`)."""
    return [i for i in (venue_issue(r) for r in rows) if i is not None]
