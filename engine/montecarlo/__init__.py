"""Monte Carlo: streamed, reproducible loss distributions and liquidation odds.

Paths come from :mod:`engine.path_models` (Student-t factor model, block bootstrap, GBM),
optionally amplified by the liquidation cascade (:mod:`engine.cascade`), and every path is
liquidated and valued by the replay kernel :func:`engine.replay.run_book`, so a path's
result is exactly what a replay of that path gives.

Reproducibility: paths are drawn in fixed blocks, each from its own seed
(:mod:`.blocks`); a chunk is a whole number of blocks and every aggregate is summed block by
block in block order (:mod:`.accumulate`), so the results do not depend on the chunk size or
on the number of worker threads.

Modules, one job each:

- :mod:`.request`    request and result types, limits, quantile levels, validation;
- :mod:`.stats`      VaR/CVaR and quantiles (exact, from histograms, the fan);
- :mod:`.blocks`     block sizes and seeds, the chunk schedule;
- :mod:`.context`    a checked request prepared into a run context (book, model, layout);
- :mod:`.simulate`   block prices, one block through the kernel, the threaded stream;
- :mod:`.accumulate` block histograms and the running sums read into chunks;
- :mod:`.report`     the JSON report (``montecarlo --json``).

The process-wide allocator tuning that long runs want (:mod:`engine.allocator`) is applied at
program start-up (``main.py``), not here.
"""
from .accumulate import FINE_PER_BIN, HIST_BINS
from .blocks import block_paths
from .report import chunk_to_dict, probability_text, run_montecarlo
from .request import (FAN_LEVELS, MAX_PATHS, MAX_STEPS, VAR_LEVELS, MonteCarloChunk, MonteCarloRequest,
                      level_key, validate_request)
from .simulate import block_price_paths, simulate_chunks
from .stats import var_cvar

__all__ = [
    "FAN_LEVELS", "VAR_LEVELS", "MAX_PATHS", "MAX_STEPS", "HIST_BINS", "FINE_PER_BIN",
    "MonteCarloRequest", "MonteCarloChunk", "level_key", "validate_request", "var_cvar",
    "block_paths", "block_price_paths", "simulate_chunks", "chunk_to_dict", "run_montecarlo",
    "probability_text",
]
