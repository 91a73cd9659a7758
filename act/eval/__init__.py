"""Closed-loop evaluation under perturbation, baselines, metrics, reports and benchmarks."""

from act.eval.evaluate import evaluate, load_results, summarize
from act.eval.metrics import robustness_auc, wilson_interval
from act.eval.offline import format_offline, offline_metrics
from act.eval.policies import ExpertPolicy, MacroPolicy, PolicySpec, RandomPolicy, load_policy
from act.eval.report import format_summary, write_report
from act.eval.rollout import EpisodeResult, Job, RolloutResult, rollout, run_episode, run_jobs
from act.eval.suites import Condition, Suite, load_suite, suite_from_config

__all__ = [
    "Condition",
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
