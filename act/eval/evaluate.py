"""Evaluate policies on a suite: run every (policy, condition, task, seed) episode, then summarise."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from act.eval.intents import intent_rates
from act.eval.io_checks import ensure_writable
from act.eval.metrics import robustness_auc, wilson_interval
from act.eval.policies import EvalSetupError, PolicySpec, check_policy
from act.eval.rollout import EpisodeResult, Job, run_jobs
from act.eval.suites import TRAINING_DATA, Suite, heldout_violations, load_training_data, training_marks


def _rate(episodes: Sequence[EpisodeResult]) -> dict[str, Any]:
    n, k = len(episodes), sum(e.success for e in episodes)
    lo, hi = wilson_interval(k, n)
    wins = [e.steps for e in episodes if e.success]
    return {
        "n": n,
        "successes": k,
        "success": k / n if n else 0.0,
        "ci95": [lo, hi],
        "errors": sum(e.error is not None for e in episodes),
        "steps_to_success": mean(wins) if wins else None,
        **_typed(episodes),
        **intent_rates([c for e in episodes for c in e.intent_checks]),
        **_cost(episodes),
    }


def _typed(episodes: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Typed-string exact match: the share of episodes that type (typed_exact is not None) whose every
    text field ended up holding the instruction's string; None when no episode types."""
    typing = [e.typed_exact for e in episodes if e.typed_exact is not None]
    return {"typed_exact": sum(typing) / len(typing) if typing else None, "typed_n": len(typing)}


def _cost(episodes: Sequence[EpisodeResult]) -> dict[str, Any]:
    """Policy calls per episode and actions (steps) per call, over the episodes of a policy that plans
    chunks (None for baselines); wall time per episode with the simulated UI's response time."""
    planned = [e for e in episodes if e.policy_calls is not None]
    calls = sum(e.policy_calls or 0 for e in planned)
    return {
        "policy_calls_per_episode": calls / len(planned) if planned else None,
        "actions_per_call": sum(e.steps for e in planned) / calls if calls else None,
        "wall_time_per_episode": mean(e.wall_time + e.ui_time for e in episodes) if episodes else None,
    }


def summarize(episodes: Sequence[EpisodeResult], suite: Suite) -> dict[str, Any]:
    """Per policy: success per condition (with Wilson 95% intervals) and per task, curves over
    severity per family, robustness AUC, drop against nominal, and error recovery under action_noise."""
    conditions = {c.name: c for c in suite.conditions()}
    by: dict[str, dict[str, list[EpisodeResult]]] = defaultdict(lambda: defaultdict(list))
    for e in episodes:
        by[e.policy][e.condition].append(e)
    out: dict[str, Any] = {}
    for policy, per_cond in by.items():
        conds = {}
        for name, eps in per_cond.items():
            tasks = defaultdict(list)
            for e in eps:
                tasks[e.task].append(e)
            rates = {t: _rate(v) for t, v in sorted(tasks.items())}
            conds[name] = {
                **_rate(eps),
                "tasks": {t: r["success"] for t, r in rates.items()},
                "typed_tasks": {
                    t: r["typed_exact"] for t, r in rates.items() if r["typed_exact"] is not None
                },
                "intent_tasks": {
                    t: {k: r[k] for k in ("intent_accuracy", "intent_agreement", "intent_n")}
                    for t, r in rates.items()
                    if r["intent_n"]
                },
            }
        nominal = conds.get("nominal", {}).get("success")
        families: dict[str, Any] = {}
        for family in suite.families:
            points = {
                c.severity: conds[c.name]["success"]
                for c in conditions.values()
                if c.family == family and c.name in conds
            }
            if not points:
                continue
            families[family] = {
                "severity": {f"{s:g}": r for s, r in sorted(points.items())},
                "auc": robustness_auc(list(points), list(points.values()), nominal),
                "drop_at_0.5": (nominal - points[0.5]) if nominal is not None and 0.5 in points else None,
                "heldout": family in suite.heldout_families,
            }
        by_severity = {}
        for s in suite.severities:
            rates = [f["severity"][f"{s:g}"] for f in families.values() if f"{s:g}" in f["severity"]]
            if rates:
                by_severity[f"{s:g}"] = mean(rates)
        noisy = [
            e
            for name, eps in per_cond.items()
            if conditions.get(name) and conditions[name].family == "action_noise"
            for e in eps
            if e.off_target > 0
        ]
        out[policy] = {
            "conditions": conds,
            "families": families,
            "mean_over_families": by_severity,
            "mean_auc": mean(f["auc"] for f in families.values()) if families else None,
            "error_recovery": _rate(noisy)["success"] if noisy else None,
            "error_recovery_n": len(noisy),
        }
    return out


def check_tasks(suite: Suite) -> None:
    """Raise EvalSetupError naming the task if any env id of ``suite`` is not registered with gymnasium."""
    import importlib

    import gymnasium as gym

    from act.envs import TASKS, env_id

    for task, raw in zip(suite.tasks, suite.env_ids()):
        try:
            eid = env_id(raw)
            module, _, eid = eid.rpartition(":")  # gymnasium's "module:env-id" imports module first
            if module:
                importlib.import_module(module)
            gym.spec(eid)
        except Exception as e:  # noqa: BLE001 - gymnasium's NameNotFound / malformed id / failed import
            raise EvalSetupError(
                f"suite {suite.name!r}: unknown task {task!r} ({type(e).__name__}: {e}); "
                f"synthui tasks: {', '.join(TASKS)}"
            ) from e


def policy_training_data(spec: PolicySpec) -> dict[str, Any] | None:
    """The training_data.json of an ACT policy's directory; None for baselines and older policies."""
    if spec.kind != "act":
        return None
    try:
        return load_training_data(spec.path)
    except ValueError as e:
        raise EvalSetupError(f"policy {spec.name!r}: {e}") from e


def check_heldout(spec: PolicySpec, suite: Suite) -> None:
    """Raise EvalSetupError when the policy's training data contains a family or task ``suite`` holds out
    (a policy without training_data.json cannot be checked and passes, marked "unknown")."""
    data = policy_training_data(spec)
    found = heldout_violations(data, suite)
    if found:
        raise EvalSetupError(
            f"suite {suite.name!r} holds out {', '.join(found)}, but policy {spec.name!r} ({spec.path}) "
            f"was trained on it: its {TRAINING_DATA} lists perturbations {data['perturbations']} and tasks "
            f"{data['tasks']}. Evaluate a policy trained without them, or a suite that holds out nothing "
            "this policy saw"
        )


def check_evaluation(
    policies: Sequence[PolicySpec], suite: Suite, out_dir: str | Path | None = None, *, load: bool = True
) -> None:
    """Everything ``evaluate`` checks before its first episode: unique names, a writable ``out_dir``,
    registered tasks, loadable policies (unless not ``load``: checked already), no held-out family or
    task in a policy's training data. Raises EvalSetupError or NotWritableError naming the culprit."""
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise EvalSetupError(f"policy names must be unique, got {names}")
    if out_dir is not None:
        ensure_writable(out_dir, "out_dir")
    if not suite.tasks or not suite.conditions():
        raise EvalSetupError(
            f"suite {suite.name!r}: nothing to run (tasks {suite.tasks}, conditions "
            f"{[c.name for c in suite.conditions()]}): set tasks and nominal, families or compositions"
        )
    check_tasks(suite)
    for spec in policies:
        if load:
            check_policy(spec)
        check_heldout(spec, suite)


def all_errored(results: dict[str, Any]) -> dict[str, str]:
    """Policies of ``results`` whose every episode errored -> the first of their errors.

    Such a policy's row is all failures that say nothing about it; callers exit non-zero."""
    errors: dict[str, list[str]] = defaultdict(list)
    ran: set[str] = set()
    for e in results["episodes"]:
        if e["error"] is None:
            ran.add(e["policy"])
        else:
            errors[e["policy"]].append(e["error"])
    return {name: errs[0] for name, errs in errors.items() if name not in ran}


def describe_all_errored(failed: dict[str, str]) -> str:
    """One line for ``all_errored``'s result: which policies, and the first error of each."""
    return "every episode errored for " + "; ".join(f"{k} (first error: {v})" for k, v in failed.items())


def evaluate(
    policies: Sequence[PolicySpec],
    suite: Suite,
    *,
    num_workers: int | None = None,
    gif_failures: int = 0,
    out_dir: str | Path | None = None,
    explain: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the suite for every policy; write results.json, report.md and plots to ``out_dir``.

    Before the first episode, ``check_evaluation`` (a missing or refused policy, an unknown task or an
    unwritable ``out_dir`` raise then); an episode that errors later is recorded and counted as a failure.
    """
    check_evaluation(policies, suite, out_dir)
    gif_dir = str(Path(out_dir) / "failures") if out_dir and gif_failures > 0 else None
    jobs = [
        Job(
            spec,
            env_id,
            seed,
            cond.perturbation,
            cond.name,
            suite.max_steps,
            gif_dir if i < gif_failures else None,
            explain and i == 0,
            suite.text_split,
        )
        for spec in policies
        for cond in suite.conditions()
        for env_id in suite.env_ids()
        for i, seed in enumerate(suite.seeds())
    ]
    start = time.perf_counter()
    episodes = run_jobs(jobs, num_workers, progress=progress)
    results = {
        "suite": suite.to_json(),
        # which seeds ran: tuning looks at validation seeds only, tables report test seeds
        "protocol": {
            "split": suite.split,
            "text_split": suite.text_split,
            "seeds": suite.seed_range.to_json(),
            "validation_seeds": suite.validation_seeds.to_json(),
            "test_seeds": suite.test_seeds.to_json(),
        },
        "policies": {
            p.name: {
                "kind": p.kind,
                "path": p.path,
                "ensemble": p.ensemble,
                "n_action_steps": p.n_action_steps,
                "cpu_inference": p.cpu_inference,
                "execution": p.execution,
                # what its training data contained, and the suite's families and tasks marked seen or not
                "training": training_marks(policy_training_data(p), suite) if p.kind == "act" else None,
            }
            for p in policies
        },
        "wall_time": time.perf_counter() - start,
        "summary": summarize(episodes, suite),
        "episodes": [e.to_json() for e in episodes],
    }
    if out_dir is not None:
        from act.eval.report import write_report

        write_report(results, out_dir)
    return results


def load_results(path: str | Path) -> dict[str, Any]:
    """results.json of an earlier evaluation (a file or the directory holding it)."""
    path = Path(path)
    return json.loads((path / "results.json" if path.is_dir() else path).read_text())
