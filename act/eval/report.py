"""Evaluation reports: results.json, report.md (family x severity with intervals), PNG plots, summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from act.eval.suites import task_name


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f}%"


def _cell(c: dict[str, Any] | None) -> str:
    if not c:
        return "–"
    lo, hi = c["ci95"]
    err = f" ({c['errors']} err)" if c.get("errors") else ""
    return f"{_pct(c['success'])} [{100 * lo:.0f}–{100 * hi:.0f}]{err}"


def seeds_line(suite: dict[str, Any]) -> str:
    """Which seeds ran: the split and its range, and the other split's range."""
    split = suite.get("split")
    if not split:  # results.json from before the protocol
        return f"{suite['episodes']} seeds per task and condition (from {suite.get('seed')})"
    other = "validation" if split == "test" else "test"
    r, o = suite[f"{split}_seeds"], suite[f"{other}_seeds"]
    use = "what tables report" if split == "test" else "for tuning, not for tables"
    text = suite.get("text_split") if suite.get("env", "synthui") == "synthui" else None  # synthui's only
    strings = {"train": "the train lists' (seen in training)", "test": "the test lists'", "random": "random"}
    return (
        f"{r['count']} {split} seeds per task and condition, [{r['start']}, {r['stop']}) ({use}; "
        f"{other} seeds: [{o['start']}, {o['stop']}))"
        + (f"; synthui strings: {strings.get(text, text)}" if text else "")
    )


def _training(results: dict[str, Any], policy: str) -> dict[str, Any] | None:
    return (results.get("policies", {}).get(policy) or {}).get("training")


def _family_mark(results: dict[str, Any], policy: str, family: str) -> str:
    """ " (seen at 0.5)", " (unseen)" or " (training data unknown)"; "" for a baseline."""
    training = _training(results, policy)
    if not training:
        return ""
    if training["training_data"] is None:
        return " (training data unknown)"
    severities = training.get("trained_families", {}).get(family)
    if not severities:
        return " (unseen)"
    if family in training.get("randomised_families", []):
        return f" (seen, randomised at {severities[0]:g}–{severities[-1]:g})"
    return f" (seen at {', '.join(f'{v:g}' for v in severities)})"


def _task_mark(results: dict[str, Any], policy: str, task: str) -> str:
    training = _training(results, policy)
    return " (unseen)" if training and training["tasks"].get(task) == "unseen" else ""


def typed_section(results: dict[str, Any]) -> list[str]:
    """Typed-string exact match per typing task and condition (the text fields hold the instruction's
    strings at the episode's end), with the text split the strings came from; [] when nothing types."""
    rows = [["policy", "condition", "task", "typed exact", "success"]]
    for name, s in results["summary"].items():
        for cond, c in s["conditions"].items():
            for task, typed in c.get("typed_tasks", {}).items():
                rows.append([name, cond, task, _pct(typed), _pct(c["tasks"].get(task))])
    if len(rows) == 1:
        return []
    split = results.get("protocol", {}).get("text_split") or results["suite"].get("text_split")
    return [f"## Typed strings (text split: {split})", "", markdown(rows), ""]


def intent_section(results: dict[str, Any]) -> list[str]:
    """Per policy, condition and task: how often the stated intent was the careful expert's, and how
    often the executed action then did what it said (act.eval.intents); [] when nothing was judged."""
    rows = [["policy", "condition", "task", "intent accuracy", "agreement", "steps judged"]]
    for name, s in results["summary"].items():
        for cond, c in s["conditions"].items():
            for task, r in c.get("intent_tasks", {}).items():
                rows.append(
                    [
                        name,
                        cond,
                        task,
                        _pct(r["intent_accuracy"]),
                        _pct(r["intent_agreement"]),
                        str(r["intent_n"]),
                    ]
                )
    if len(rows) == 1:
        return []
    return [
        "## Stated intents",
        "",
        "Intent accuracy: the stated intent (of the chunk being executed) is the one a careful expert "
        "would act on from the same state; agreement: with the intent right, the executed action does "
        "it (the expert's kind, in its target, or its key). A lower bound where several orders are valid.",
        "",
        markdown(rows),
        "",
    ]


def training_section(results: dict[str, Any]) -> list[str]:
    """What each ACT policy was trained on (its training_data.json), for the seen/unseen marks."""
    lines = []
    for name, p in results.get("policies", {}).items():
        training = p.get("training")
        if not training:
            continue
        data = training["training_data"]
        if data is None:
            lines.append(f"- {name}: unknown (no training_data.json beside its config.json)")
            continue
        specs = ", ".join(s or "nominal" for s in data["perturbations"])
        if data.get("randomise"):
            r = data["randomise"]
            specs += f"; drawn at random: {', '.join(r['families'])} at severities {r.get('severity')}"
        how = "online stream" if data.get("online") else "recorded episodes"
        lines.append(
            f"- {name}: tasks {', '.join(data['tasks'])}; perturbations {specs}; {how}; "
            f"training seed {data.get('seed')}"
        )
    if not lines:
        return []
    return [
        "## Training data",
        "",
        "Families and tasks are marked seen or unseen by what each policy's training data contained.",
        "",
        *lines,
        "",
    ]


def summary_table(results: dict[str, Any]) -> list[list[str]]:
    """Rows: policy, nominal, mean over families per severity, mean AUC, error recovery, errors, and the
    nominal episodes' cost: policy calls per episode (steps per call, wall seconds per episode with
    the simulated UI's response time).

    Errored episodes count as failures; the errors column makes sure nobody mistakes them for a
    policy that merely fails."""
    summary = results["summary"]
    severities = results["suite"]["severities"] if results["suite"]["families"] else []
    header = [
        "policy",
        "nominal",
        *[f"families @{s:g}" for s in severities],
        "mean AUC",
        "recovery",
        "errors",
        "calls/ep (steps/call, s/ep)",
    ]
    rows = [header]
    for name, s in summary.items():
        nominal = s["conditions"].get("nominal")
        rows.append(
            [
                name,
                _pct(nominal["success"]) if nominal else "–",
                *[_pct(s["mean_over_families"].get(f"{v:g}")) for v in severities],
                "–" if s["mean_auc"] is None else f"{s['mean_auc']:.2f}",
                _pct(s["error_recovery"]),
                str(sum(c["errors"] for c in s["conditions"].values())),
                _cost(nominal),
            ]
        )
    return rows


def _cost(c: dict[str, Any] | None) -> str:
    """'calls (steps per call, seconds)' of a condition's summary; '–' for what it lacks (a baseline
    plans no chunks; results written before these fields have none)."""
    if not c or c.get("wall_time_per_episode") is None:
        return "–"
    seconds = f"{c['wall_time_per_episode']:.1f} s"
    if c.get("policy_calls_per_episode") is None:
        return f"– ({seconds})"
    per_call = "–" if c.get("actions_per_call") is None else f"{c['actions_per_call']:.1f}"
    return f"{c['policy_calls_per_episode']:.1f} ({per_call}, {seconds})"


def family_table(results: dict[str, Any], severity: float = 0.5) -> list[list[str]]:
    """Rows: family; columns: each policy's success at ``severity`` (nominal first)."""
    summary = results["summary"]
    names = list(summary)
    rows = [["condition", *names]]
    rows.append(
        ["nominal", *[_pct(summary[n]["conditions"].get("nominal", {}).get("success")) for n in names]]
    )
    for family in results["suite"]["families"]:
        rows.append(
            [
                family,
                *[
                    _pct(summary[n]["families"].get(family, {}).get("severity", {}).get(f"{severity:g}"))
                    for n in names
                ],
            ]
        )
    return rows


def markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows)


def write_report(results: dict[str, Any], out_dir: str | Path) -> dict[str, Path]:
    """results.json, report.md and success_vs_severity.png in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "results.json", "markdown": out / "report.md"}
    paths["json"].write_text(json.dumps(results, indent=1, default=str) + "\n")
    suite, summary = results["suite"], results["summary"]
    md = [
        f"# Evaluation: suite `{suite['name']}`",
        "",
        f"Tasks: {', '.join(suite['tasks'])}; {seeds_line(suite)}; {len(results['episodes'])} episodes "
        f"in {results['wall_time']:.0f} s.",
        "",
        "Success rate with Wilson 95% interval. AUC: area under success vs severity, nominal at 0.",
        "",
        "## Summary",
        "",
        markdown(summary_table(results)),
        "",
    ]
    if suite["families"]:
        severities = suite["severities"]
        for name, s in summary.items():
            md += [f"## {name}: family × severity", ""]
            rows = [["family", *[f"{v:g}" for v in severities], "AUC", "drop @0.5"]]
            for family in suite["families"]:
                f = s["families"].get(family)
                if not f:
                    continue
                label = family + (" (held out)" if f["heldout"] else "") + _family_mark(results, name, family)
                rows.append(
                    [
                        label,
                        *[_cell(s["conditions"].get(f"{family}:{v:g}")) for v in severities],
                        f"{f['auc']:.2f}",
                        _pct(f["drop_at_0.5"]),
                    ]
                )
            md += [markdown(rows), ""]
    comps = (
        [c for c in next(iter(summary.values()))["conditions"] if ":" in c and "," in c] if summary else []
    )
    if comps:
        md += [
            "## Compositions",
            "",
            markdown(
                [["condition", *summary]]
                + [[c, *[_cell(s["conditions"].get(c)) for s in summary.values()]] for c in comps]
            ),
            "",
        ]
    # per task: nominal where the suite ran it, else every condition it ran (a families-only run)
    has_nominal = any("nominal" in s["conditions"] for s in summary.values())
    tasks_rows = [["policy", "condition", *suite["tasks"]]]
    for name, s in summary.items():
        for cond, c in s["conditions"].items():
            if (cond == "nominal") == has_nominal and c and "tasks" in c:
                tasks_rows.append(
                    [
                        name,
                        cond,
                        *[
                            _pct(c["tasks"].get(task_name(t))) + _task_mark(results, name, task_name(t))
                            for t in suite["tasks"]
                        ],
                    ]
                )
    md += [f"## Per task{' (nominal)' if has_nominal else ''}", "", markdown(tasks_rows), ""]
    md += typed_section(results)
    md += intent_section(results)
    md += training_section(results)
    explained = [e for e in results["episodes"] if e.get("explanations")][:8]
    if explained:
        md += ["## What the policies said they were doing (first step)", ""]
        md += [
            f"- {e['policy']} / {e['task']} / {e['condition']} / seed {e['seed']}: {e['explanations'][0]}"
            for e in explained
        ]
        md.append("")
    errors = [e for e in results["episodes"] if e.get("error")]
    if errors:
        md += [f"## Errors ({len(errors)} episodes, counted as failures)", ""]
        md += [
            f"- {e['policy']} / {e['task']} / {e['condition']} / seed {e['seed']}: {e['error']}"
            for e in errors[:20]
        ]
        md.append("")
    paths["markdown"].write_text("\n".join(md))
    if suite["families"]:
        paths["plot"] = plot_severity(results, out / "success_vs_severity.png")
    return paths


def plot_severity(results: dict[str, Any], path: str | Path) -> Path:
    """One panel per family: success against severity, one line per policy, nominal at 0."""
    from matplotlib.figure import Figure  # not pyplot: never switch the caller's backend (notebooks)

    families = results["suite"]["families"]
    cols = min(4, len(families))
    rows = -(-len(families) // cols)
    fig = Figure(figsize=(3.2 * cols, 2.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax, family in zip(axes.flat, families):
        for name, s in results["summary"].items():
            f = s["families"].get(family)
            if not f:
                continue
            xs = [0.0] + [float(k) for k in f["severity"]]
            ys = [s["conditions"].get("nominal", {}).get("success", float("nan"))] + list(
                f["severity"].values()
            )
            ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(
            family + (" (held out)" if family in results["suite"]["heldout_families"] else ""), fontsize=9
        )
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("severity", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(families) :]:
        ax.axis("off")
    axes[0][0].set_ylabel("success")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def format_summary(results: dict[str, Any], out_dir: str | Path | None = None) -> str:
    lines = [
        f"suite {results['suite']['name']}: {len(results['episodes'])} episodes"
        f" in {results['wall_time']:.0f} s"
        + (f"; {seeds_line(results['suite'])}" if results["suite"].get("split") else ""),
        "",
        text_table(summary_table(results)),
    ]
    if results["suite"]["families"] and 0.5 in results["suite"]["severities"]:
        lines += ["", "success at severity 0.5:", text_table(family_table(results, 0.5))]
    if out_dir:
        lines += ["", f"report: {Path(out_dir) / 'report.md'}   results: {Path(out_dir) / 'results.json'}"]
    return "\n".join(lines)
