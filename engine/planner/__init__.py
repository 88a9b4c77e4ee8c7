"""The survival planner: what to change so a book survives the crashes its owner fears.

For a target (a bundled crash or all of them, a shock with betas, an imported history, a
reverse-stress loss level, or "P(liquidation) <= p over D days" on fixed Monte Carlo paths),
every position or cross account that does not survive gets the smallest change that saves
it in each way its venue allows (margin, wallet, collateral, repayment, reduction, a
collateral swap), with its cost and new liquidation price or health factor; a budget then
buys the plan that keeps the most value alive, checked on the target before and after.

Modules, one job each:

- :mod:`.targets`  what must be survived: a target as one price cube and a rule; summaries;
- :mod:`.actions`  units (what is liquidated as one), the actions and the ways per unit;
- :mod:`.search`   judging many candidates in one kernel run; bracketing and bisection;
- :mod:`.plan`     the per-unit actions, the budget plan, the check and the report.
"""
from .actions import ACTIONS, MONEY_ACTIONS, Unit, Way, apply_action, describe, units_of
from .plan import PlanResult, apply_plan, plan_steps, plan_survival, precision_text
from .search import CHECK, RTOL, judge
from .targets import ALL, DEFAULT_PLANNER_PATHS, Target, TargetSpec, build_target, summaries

__all__ = ["ACTIONS", "MONEY_ACTIONS", "Unit", "Way", "apply_action", "describe", "units_of", "PlanResult",
           "apply_plan", "plan_steps", "plan_survival", "precision_text", "CHECK", "RTOL", "judge",
           "ALL", "DEFAULT_PLANNER_PATHS", "Target", "TargetSpec", "build_target", "summaries"]
