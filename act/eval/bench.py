"""Benchmark many checkpoints and baselines side by side: success per suite, latency, size, training time.

Policies that are training seeds of one configuration share a row: the mean and spread (std, min-max)
of success over seeds, a Wilson interval over their pooled episodes, and the number of seeds.
"""

from __future__ import annotations

import glob
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from act.eval.evaluate import evaluate
from act.eval.metrics import over_seeds, spread
from act.eval.policies import PolicySpec, load_policy
from act.eval.protocol import ChunkPolicy, as_policy, select_action, start_episode
from act.eval.report import markdown, text_table
from act.eval.suites import Suite, load_training_data
from act.policy.configuration_act import CONFIG_NAME


def measure_latency(
    spec: PolicySpec, env_id: str = "synthui/ClickButton-v0", steps: int = 50
) -> dict[str, Any]:
    """select_action p50/p95 over consecutive steps (what a controller pays per step) and, for ACT,
    predict_chunk p50 (one model call), in milliseconds, batch 1, on the CPU."""
    import torch

    from act.envs import make

    torch.set_num_threads(max(1, torch.get_num_threads()))
    policy = as_policy(load_policy(spec))
    env = make(env_id)
    obs, info = start_episode(policy, env, env_id, 0)  # reset's info: no private env call
    times = []
    for _ in range(steps + 3):
        t0 = time.perf_counter()
        select_action(policy, obs, info)
        times.append(time.perf_counter() - t0)
    times = np.array(times[3:]) * 1e3
    out = {
        "select_action_p50_ms": float(np.percentile(times, 50)),
        "select_action_p95_ms": float(np.percentile(times, 95)),
    }
    if isinstance(policy, ChunkPolicy):
        chunk = []
        for _ in range(min(steps, 20) + 2):
            t0 = time.perf_counter()
            policy.predict_chunk(obs)
            chunk.append(time.perf_counter() - t0)
        out["chunk_p50_ms"] = float(np.percentile(np.array(chunk[2:]) * 1e3, 50))
        out["parameters"] = sum(p.numel() for p in policy.parameters())
    env.close()
    return out


def _training_info(path: str | None) -> dict[str, Any]:
    """train_summary.json of the run a policies/<name> dir belongs to, where there is one."""
    if not path:
        return {}
    for parent in list(Path(path).parents)[:3]:
        f = parent / "train_summary.json"
        if f.is_file():
            s = json.loads(f.read_text())
            return {"train_seconds": s.get("train_seconds"), "train_steps": s.get("global_step")}
    return {}


def _label(path: str) -> str:
    """A policy's name in tables: <runs>/<run> for <...>/runs/<run>/policies/<name>, else the dir name."""
    parts = Path(path).parts
    return "/".join(parts[-4:-2] if "policies" in parts else parts[-1:])


def policy_groups(items: Sequence[str]) -> tuple[list[PolicySpec], dict[str, list[str]]]:
    """act-bench's policy arguments -> (specs, groups: row name -> the names of its seeds' specs).

    ``NAME=GLOB`` matching several directories makes them seeds of one row named NAME (refused when
    their training_data.json shows another difference than the seed, or one seed twice). Unnamed
    directories whose training_data.json differ only in the seed (same config digest, same export
    name such as best) share a row too. ValueError names the offending directory."""
    specs: list[PolicySpec] = []
    groups: dict[str, list[str]] = {}
    loose: list[tuple[PolicySpec, dict[str, Any] | None]] = []
    taken: set[str] = set()

    def add(name: str, path: str) -> PolicySpec:
        spec = PolicySpec(name if name not in taken else path, "act", path)
        taken.add(spec.name)
        specs.append(spec)
        return spec

    for item in items:
        name, _, pattern = item.rpartition("=")
        paths = sorted(glob.glob(pattern)) or [pattern]
        for path in paths:
            if not (Path(path) / CONFIG_NAME).is_file():
                raise ValueError(f"{path} is not a policy directory (no config.json)")
        data = {p: load_training_data(p) for p in paths}
        if name and len(paths) > 1:
            _check_seeds(f"{name}={pattern}", data)
            seeds = [(d or {}).get("seed") for d in data.values()]
            unique = None not in seeds and len(set(seeds)) == len(seeds)
            members = [
                add(f"{name}/seed{s}" if unique else f"{name}/{i}", p)
                for i, (p, s) in enumerate(zip(paths, seeds))
            ]
            groups[name] = [m.name for m in members]
        elif name:
            add(name, paths[0])
        else:
            loose += [(add(_label(p), p), data[p]) for p in paths]
    by_config: dict[tuple[str, str], list[tuple[PolicySpec, Any]]] = {}
    for spec, data in loose:
        if data and data.get("config_digest") and data.get("seed") is not None:
            by_config.setdefault((data["config_digest"], Path(spec.path).name), []).append(
                (spec, data["seed"])
            )
    for members in by_config.values():
        seeds = [s for _, s in members]
        if len(members) > 1 and len(set(seeds)) == len(seeds):
            groups[f"{members[0][0].name}[{len(members)} seeds]"] = [m.name for m, _ in members]
    return specs, groups


def with_executions(
    specs: Sequence[PolicySpec], groups: Mapping[str, Sequence[str]], executions: Sequence[str]
) -> tuple[list[PolicySpec], dict[str, list[str]]]:
    """Each ACT spec once per chunk execution strategy, named ``NAME@STRATEGY`` (a group of training
    seeds becomes one group per strategy); no ``executions``: the specs as they are. A policy whose
    chunks are one step long (BC) stays one spec under its own name: every strategy executes it
    alike. ValueError names a strategy that does not parse."""
    if not executions:
        return list(specs), {g: list(ms) for g, ms in groups.items()}
    once = {s.name for s in specs if s.kind != "act" or _one_step(s)}
    out = [  # replace() runs PolicySpec's checks: a strategy that does not parse raises naming it
        replace(s, name=f"{s.name}@{e}", execution=e) for s in specs if s.name not in once for e in executions
    ] + [s for s in specs if s.name in once]
    by: dict[str, list[str]] = {}
    for g, ms in groups.items():
        if all(m in once for m in ms):
            by[g] = list(ms)
        else:
            by.update({f"{g}@{e}": [f"{m}@{e}" for m in ms] for e in executions})
    return out, by


def _one_step(spec: PolicySpec) -> bool:
    """Whether the ACT policy at ``spec.path`` plans one-step chunks (its config.json's chunk_size is 1);
    False where that file cannot be read (loading the policy reports it)."""
    try:
        return json.loads((Path(spec.path) / CONFIG_NAME).read_text()).get("chunk_size") == 1
    except (OSError, ValueError, AttributeError):
        return False


def _check_seeds(item: str, data: Mapping[str, dict[str, Any] | None]) -> None:
    """Refuse directories given as seeds of one configuration that training_data.json says are not."""
    known = {p: d for p, d in data.items() if d}
    digests = {p: d["config_digest"] for p, d in known.items() if d.get("config_digest")}
    first = next(iter(digests), None)
    other = next((p for p in digests if digests[p] != digests[first]), None)
    if other is not None:
        raise ValueError(
            f"{item}: {first} and {other} differ in more than the seed (their training_data.json config "
            "digests differ): they are not seeds of one configuration; name them separately"
        )
    seen: dict[Any, str] = {}
    for p, d in known.items():
        s = d.get("seed")
        if s is not None and s in seen:
            raise ValueError(f"{item}: {seen[s]} and {p} are both training seed {s}: count each seed once")
        seen[s] = p


def seed_stats(summaries: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One suite's metrics over the seeds of a row, from each seed's evaluation summary: nominal and
    families (mean over families at their highest severity) as ``over_seeds``, mean AUC as ``spread``."""
    out: dict[str, dict[str, Any]] = {}
    if summaries and all("nominal" in s["conditions"] for s in summaries):
        out["nominal"] = over_seeds(
            [(s["conditions"]["nominal"]["successes"], s["conditions"]["nominal"]["n"]) for s in summaries]
        )
    if summaries and all(s["families"] for s in summaries):
        counts = []
        for s in summaries:
            top = [f"{fam}:{max(f['severity'], key=float)}" for fam, f in s["families"].items()]
            counts.append(
                (sum(s["conditions"][c]["successes"] for c in top), sum(s["conditions"][c]["n"] for c in top))
            )
        out["families"] = over_seeds(counts)
        aucs = [s["mean_auc"] for s in summaries if s["mean_auc"] is not None]
        if aucs:
            out["auc"] = {"seeds": len(aucs), "per_seed": aucs, **spread(aucs)}
    return out


def bench(
    specs: Sequence[PolicySpec],
    suites: Sequence[Suite],
    out_dir: str | Path,
    *,
    groups: Mapping[str, Sequence[str]] | None = None,
    num_workers: int | None = None,
    latency_steps: int = 50,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate every policy on every suite; write leaderboard.md, leaderboard.json and a plot.

    ``groups``: row name -> names of specs that are training seeds of one configuration (one row over
    them); every other spec is a row of its own."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_name = {s.name: s for s in specs}
    members: dict[str, list[str]] = {}
    grouped = {m: g for g, ms in (groups or {}).items() for m in ms}
    for g, ms in (groups or {}).items():
        missing = [m for m in ms if m not in by_name]
        if missing or not ms:
            raise ValueError(f"groups: {g!r} names {missing or 'no'} policies not among the specs")
        if g in by_name and g not in ms:
            raise ValueError(f"groups: {g!r} is also the name of a policy outside the group")
    for s in specs:  # rows in the order their first policy comes
        row = grouped.get(s.name, s.name)
        members.setdefault(row, []).append(s.name)
    rows: dict[str, dict[str, Any]] = {}
    for row, ms in members.items():
        first = by_name[ms[0]]
        rows[row] = {
            "name": row,
            "kind": first.kind,
            "path": first.path,
            "seeds": len(ms),
            "members": [
                {
                    "name": m,
                    "path": by_name[m].path,
                    "seed": (load_training_data(by_name[m].path) or {}).get("seed"),
                }
                for m in ms
            ],
            "spread": {},
        }
    for suite in suites:
        results = evaluate(specs, suite, num_workers=num_workers, out_dir=out / suite.name, progress=progress)
        for row, ms in members.items():
            stats = seed_stats([results["summary"][m] for m in ms if m in results["summary"]])
            for metric, st in stats.items():
                rows[row][f"{suite.name}/{metric}"] = st["mean"]
                rows[row]["spread"][f"{suite.name}/{metric}"] = st
    for row, ms in members.items():
        rows[row].update(measure_latency(by_name[ms[0]], suites[0].env_ids()[0], latency_steps))
        infos = [_training_info(by_name[m].path) for m in ms]
        for key in ("train_seconds", "train_steps"):
            vals = [i[key] for i in infos if i.get(key) is not None]
            if vals:
                rows[row][key] = float(np.mean(vals))
    board = {"suites": [s.to_json() for s in suites], "policies": list(rows.values())}
    (out / "leaderboard.json").write_text(json.dumps(board, indent=1, default=str) + "\n")
    table = leaderboard_table(board)
    (out / "leaderboard.md").write_text(
        "# Leaderboard\n\n"
        + "Success: mean over training seeds ±std (min–max), and a Wilson 95% interval over the seeds' "
        + "pooled episodes.\n\n"
        + markdown(table)
        + "\n\nPer-suite reports: "
        + ", ".join(f"[{s.name}]({s.name}/report.md)" for s in suites)
        + "\n"
    )
    board["plot"] = str(plot_leaderboard(board, out / "leaderboard.png"))
    board["text"] = text_table(table)
    return board


def _metric_keys(board: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for p in board["policies"]:
        keys += [k for k in p if "/" in k and k not in keys]
    return keys


def _stat_cell(st: dict[str, Any] | None, auc: bool) -> str:
    if not st or st.get("mean") is None:
        return "–"

    def f(v: float) -> str:
        return f"{v:.2f}" if auc else f"{100 * v:.0f}%"

    cell = f(st["mean"])
    if st.get("std") is not None:
        cell += (
            f" ±{st['std']:.2f} ({f(st['min'])}–{f(st['max'])})"
            if auc
            else (f" ±{100 * st['std']:.0f} ({100 * st['min']:.0f}–{100 * st['max']:.0f})")
        )
    return cell


def leaderboard_table(board: dict[str, Any]) -> list[list[str]]:
    """Rows: policy, seeds, per suite metric the mean over seeds ±std (min–max) and for success the
    pooled Wilson interval, then latency, parameters and training time."""
    metric_keys = _metric_keys(board)
    header = ["policy", "seeds"]
    for k in metric_keys:
        header += [k] if k.endswith("auc") else [k, f"{k} 95% CI"]
    header += ["act p50 ms", "act p95 ms", "chunk ms", "params", "train s"]
    rows = [header]

    def f(v: Any, fmt: str) -> str:
        return "–" if v is None else format(v, fmt)

    for p in sorted(board["policies"], key=lambda p: -(p.get(metric_keys[0]) or 0) if metric_keys else 0):
        cells = [p["name"], str(p.get("seeds", 1))]
        for k in metric_keys:
            st = p.get("spread", {}).get(k) or ({"mean": p.get(k)} if p.get(k) is not None else None)
            cells.append(_stat_cell(st, k.endswith("auc")))
            if not k.endswith("auc"):
                ci = (st or {}).get("ci95")
                cells.append("–" if not ci else f"[{100 * ci[0]:.0f}–{100 * ci[1]:.0f}]")
        cells += [
            f(p.get("select_action_p50_ms"), ".2f"),
            f(p.get("select_action_p95_ms"), ".2f"),
            f(p.get("chunk_p50_ms"), ".1f"),
            f(p.get("parameters") and p["parameters"] / 1e6, ".2f") + ("M" if p.get("parameters") else ""),
            f(p.get("train_seconds"), ".0f"),
        ]
        rows.append(cells)
    return rows


def plot_leaderboard(board: dict[str, Any], path: Path) -> Path:
    """Bars of mean success per suite metric, with min-max over seeds as error bars."""
    from matplotlib.figure import Figure  # not pyplot: never switch the caller's backend (notebooks)

    keys = [k for k in _metric_keys(board) if not k.endswith("auc")]
    names = [p["name"] for p in board["policies"]]
    fig = Figure(figsize=(1.2 + 1.0 * len(names) * max(1, len(keys)) / 2, 3))
    ax = fig.subplots()
    width = 0.8 / max(len(keys), 1)
    for i, k in enumerate(keys):
        means = [p.get(k) or 0 for p in board["policies"]]
        stats = [p.get("spread", {}).get(k) or {} for p in board["policies"]]
        err = [
            [m - (s.get("min") if s.get("min") is not None else m) for m, s in zip(means, stats)],
            [(s.get("max") if s.get("max") is not None else m) - m for m, s in zip(means, stats)],
        ]
        ax.bar(np.arange(len(names)) + i * width, means, width, yerr=err, capsize=2, label=k)
    ax.set_xticks(np.arange(len(names)) + width * (len(keys) - 1) / 2, names, fontsize=8)
    if max(map(len, names)) > 12:  # long names ("randomised_6k@replan") would run into each other
        ax.tick_params(axis="x", labelrotation=20)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("success")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
