"""Closed-loop evaluation under perturbation, baselines, metrics, reports and benchmarks."""

from typing import TYPE_CHECKING, Any

from act.eval.evaluate import (
    all_errored,
    check_evaluation,
    check_tasks,
    describe_all_errored,
    evaluate,
    load_results,
    summarize,
)
from act.eval.io_checks import NotWritableError, ensure_writable
from act.eval.metrics import robustness_auc, wilson_interval
from act.eval.policies import (
    EvalSetupError,
    ExpertPolicy,
    MacroPolicy,
    PolicySpec,
    RandomPolicy,
    check_policy,
    load_policy,
    policy_specs_from_config,
)
from act.eval.report import format_summary, write_report
from act.eval.rollout import EpisodeResult, Job, RolloutResult, rollout, run_episode, run_jobs
from act.eval.suites import Condition, Suite, load_suite, suite_from_config

__all__ = [
    "Condition",
    "EvalSetupError",
    "NotWritableError",
    "all_errored",
    "describe_all_errored",
    "check_evaluation",
    "check_policy",
    "check_tasks",
    "ensure_writable",
    "policy_specs_from_config",
    "EpisodeResult",
    "ExpertPolicy",
    "Job",
    "MacroPolicy",
    "PolicySpec",
    "RandomPolicy",
    "RolloutResult",
    "Suite",
    "load_suite",
    "suite_from_config",
    "evaluate",
    "format_summary",
    "load_policy",
    "load_results",
    "format_offline",
    "offline_metrics",
    "robustness_auc",
    "rollout",
    "run_episode",
    "run_jobs",
    "summarize",
    "wilson_interval",
    "write_report",
]

if TYPE_CHECKING:
    from act.eval.offline import format_offline, offline_metrics

# act.eval.offline needs act.data (and Lightning, seconds to import): loaded on first use, so that
# `import act.eval` (io_checks in act-record, act-generate) stays light.
_LAZY = {"format_offline": "act.eval.offline", "offline_metrics": "act.eval.offline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'act.eval' has no attribute {name!r}")
