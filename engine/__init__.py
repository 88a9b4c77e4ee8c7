"""CrashLab engine: portfolios, liquidation math, scenarios and vectorised replays.

Pure numpy/pandas; never imports Qt (a test checks). Typical use::

    from engine import load_portfolio, compile_book, library_scenario, stress
    p = load_portfolio("resources/demo_portfolio.json")
    book = compile_book(p)
    report = stress(p, library_scenario("2025-12-18-btc-loses-85k", book.assets, book.today), book)
"""
from .errors import InputError, Issue
from .portfolio import (Account, Leg, Loan, Perp, Portfolio, Spot, dumps_portfolio, load_portfolio,
                        portfolio_from_dict, portfolio_to_dict, position_from_dict, save_portfolio)
from .book import Book, check_portfolio, compile_book
from .replay import BookOutcome, PricePaths, max_drawdown, run_book
from .scenarios import (Scenario, history_scenario, library, library_entry, library_scenario,
                        parse_shock, resolve_betas, shock_scenario)
from .stress import liquidation_prices, reverse_stress, shock_paths, stress, stress_all

__all__ = [
    "InputError", "Issue", "Account", "Leg", "Loan", "Perp", "Portfolio", "Spot",
    "dumps_portfolio", "load_portfolio", "portfolio_from_dict", "portfolio_to_dict",
    "position_from_dict", "save_portfolio", "Book", "check_portfolio", "compile_book",
    "BookOutcome", "PricePaths", "max_drawdown", "run_book", "Scenario", "history_scenario",
    "library", "library_entry", "library_scenario", "parse_shock", "resolve_betas",
    "shock_scenario", "liquidation_prices", "reverse_stress", "shock_paths", "stress", "stress_all",
]
