"""`act-eval`: evaluate a policy and baselines on a robustness suite (a thin Hydra app)."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig

from act.eval import PolicySpec, evaluate, format_summary, suite_from_config
from act.eval.policies import CPU_INFERENCE


def policy_specs(cfg: DictConfig) -> list[PolicySpec]:
    """The policies an eval config names, in table order: ACT, ACT+ensemble, BC, others, baselines."""
    specs = []
    cpu = cfg.get("cpu_inference")
    if cpu not in CPU_INFERENCE:
        names = ", ".join("null" if c is None else c for c in CPU_INFERENCE)
        raise SystemExit(f"act-eval: cpu_inference={cpu!r} is not one of {names}")
    if cfg.policy:
        specs.append(PolicySpec(cfg.name, "act", str(cfg.policy), ensemble=-1.0, cpu_inference=cpu))
        if cfg.ensemble is not None:
            name, m = f"{cfg.name}+ens{cfg.ensemble:g}", float(cfg.ensemble)
            specs.append(PolicySpec(name, "act", str(cfg.policy), ensemble=m, cpu_inference=cpu))
    if cfg.bc:
        specs.append(PolicySpec("bc", "act", str(cfg.bc), cpu_inference=cpu))
    for name, path in (cfg.policies or {}).items():
        specs.append(PolicySpec(str(name), "act", str(path), cpu_inference=cpu))
    for b in cfg.baselines or []:
        specs.append(PolicySpec(str(b), str(b)))
    if not specs:
        raise SystemExit("act-eval: nothing to evaluate: set policy=DIR and/or baselines=[macro,random]")
    return specs


@hydra.main(config_path="../configs/eval", config_name="eval", version_base="1.3")
def main(cfg: DictConfig) -> None:
    suite = suite_from_config(cfg.suite)
    results = evaluate(
        policy_specs(cfg),
        suite,
        num_workers=cfg.num_workers,
        gif_failures=cfg.gif_failures,
        out_dir=cfg.out_dir,
    )
    print(format_summary(results, cfg.out_dir))
    if cfg.offline and cfg.policy:
        import json
        from pathlib import Path

        from act.eval import format_offline, load_policy, offline_metrics

        offline = offline_metrics(load_policy(policy_specs(cfg)[0]), cfg.offline, val_fraction=None)
        (Path(cfg.out_dir) / "offline.json").write_text(json.dumps(offline, indent=1) + "\n")
        print(format_offline(offline))


if __name__ == "__main__":
    main()
