"""scripts/bench_lerobot.py: LeRobot's flat action vector (layout, flatten, decode), the torchvision stand-in,
the bridge and the same-budget worker."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "bench_lerobot.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lerobot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _batch(kinds: int, keys: int, b: int = 3, k: int = 5, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "kind": torch.randint(0, kinds, (b, k), generator=g),
        "key": torch.randint(0, keys, (b, k), generator=g),
        "point": torch.rand(b, k, 2, generator=g),
        "point2": torch.rand(b, k, 2, generator=g),
        "scroll": torch.randn(b, k, 2, generator=g) * 3,
        "is_pad": torch.arange(k)[None].expand(b, k) >= torch.tensor([[k], [2], [4]]),
    }


def test_layout_tiles_the_vector_without_gaps(bench):
    layout = bench.flat_layout(8, 5)
    covered = sorted(i for s in layout.values() for i in range(s.start, s.stop))
    assert covered == list(range(bench.flat_dim(8, 5)))
    assert list(layout) == ["kind", "point", "point2", "key", "scroll"]


def test_flatten_then_decode_recovers_every_unpadded_step(bench):
    batch = _batch(8, 5)
    flat = bench.flatten_actions(batch, 8, 5)  # (B, K, A)
    assert flat.shape == (3, 5, bench.flat_dim(8, 5))
    d = bench.decode_flat(flat.numpy(), 8, 5)
    valid = ~batch["is_pad"].numpy()
    np.testing.assert_array_equal(d["kind"][valid], batch["kind"].numpy()[valid])
    np.testing.assert_array_equal(d["key"][valid], batch["key"].numpy()[valid])
    np.testing.assert_allclose(d["point"][valid], batch["point"].numpy()[valid], atol=1e-6)
    np.testing.assert_allclose(d["point2"][valid], batch["point2"].numpy()[valid], atol=1e-6)
    np.testing.assert_allclose(d["scroll"][valid], batch["scroll"].numpy()[valid], atol=1e-6)
    assert (flat[batch["is_pad"]] == 0).all()  # padded steps carry nothing


def test_decode_takes_argmax_of_noisy_continuous_output(bench):
    layout = bench.flat_layout(4, 3)
    v = np.zeros(bench.flat_dim(4, 3), np.float32)
    v[layout["kind"]] = [0.1, 0.2, 0.7, 0.4]  # a regression output, not a one-hot
    v[layout["key"]] = [0.3, -0.1, 0.5]
    v[layout["point"]] = [1.3, -0.2]  # out of range: clipped
    d = bench.decode_flat(v, 4, 3)
    assert int(d["kind"]) == 2 and int(d["key"]) == 2
    np.testing.assert_allclose(d["point"], [1.0, 0.0])


@pytest.mark.slow
def test_torchvision_standin_builds_lerobots_backbone(bench, tmp_path):
    """In a fresh interpreter (the stand-in must never shadow anything in this one)."""
    bench.write_shim(tmp_path)
    code = (
        "import torch, torchvision\n"
        "from torchvision.models._utils import IntermediateLayerGetter\n"
        "from torchvision.ops.misc import FrozenBatchNorm2d\n"
        "m = torchvision.models.resnet18(replace_stride_with_dilation=[False, False, False], weights=None,"
        " norm_layer=FrozenBatchNorm2d)\n"
        "assert m.fc.in_features == 512\n"
        "body = IntermediateLayerGetter(m, return_layers={'layer4': 'feature_map'})\n"
        "assert 'avgpool' not in dict(body.named_children())\n"
        "y = body(torch.randn(2, 3, 96, 96))['feature_map']\n"
        "assert tuple(y.shape) == (2, 512, 3, 3), y.shape\n"
        "bn, fbn = torch.nn.BatchNorm2d(4).eval(), FrozenBatchNorm2d(4)\n"
        "for name in ('weight', 'bias', 'running_mean', 'running_var'):\n"
        "    t = torch.rand(4) + 0.5\n"
        "    getattr(bn, name).data.copy_(t); getattr(fbn, name).copy_(t)\n"
        "x = torch.randn(2, 4, 5, 5)\n"
        "assert torch.allclose(bn(x), fbn(x), atol=1e-5)\n"
        "print('ok', torchvision.__version__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "standin" in out.stdout


class _Replies:
    """A stand-in for the LeRobot worker's client: every call returns the same flat chunk."""

    def __init__(self, chunk: np.ndarray):
        self.chunk, self.calls = chunk, 0

    def call(self, cmd: str, **kwargs):
        self.calls += 1
        return {"chunk": self.chunk.tolist()}


class _Ours:
    def _observation(self, obs):
        return torch.zeros(1, 3, 4, 4, dtype=torch.uint8), torch.zeros(1, 2, dtype=torch.long)


@pytest.mark.parametrize("n_action_steps, calls", [(None, 1), (1, 4)])
def test_lerobot_bridge_executes_whole_chunks_or_replans(bench, n_action_steps, calls):
    kinds, keys, k = 4, 3, 5
    chunk = np.zeros((k, bench.flat_dim(kinds, keys)), np.float32)
    chunk[:, bench.flat_layout(kinds, keys)["kind"].start + 2] = 1.0
    client = _Replies(chunk)
    data = {"num_kinds": kinds, "num_keys": keys}
    bridge = bench.LeRobotBridge(client, data, _Ours(), n_action_steps=n_action_steps)
    actions = [bridge.select_action({}) for _ in range(4)]
    assert client.calls == calls and all(a["kind"] == 2 for a in actions)


@pytest.mark.slow
def test_same_budget_worker_trains_ours_on_the_stream_at_the_demo_config(bench, tmp_path):
    """c's data file and our worker: batches come from the stream, training runs on the clock, and the
    policy saved is the demo's config (its pointer grid and reading labels included)."""
    import argparse

    args = argparse.Namespace(eval_vocab_episodes=2, seed=0, eval_batch_ours=4, batch=2, eval_ours="demo")
    data = bench.make_stream_data(tmp_path / "data", args, tmp_path / "stream.pt")
    assert data["stream"]["tasks"] and data["ours_policy"]["pointer_stride"] == 8 and not data["batches"]
    client = bench.Client("ours", sys.executable, tmp_path / "stream.pt", 1, 0, tmp_path / "worker.log")
    try:
        out = client.call("train_for", seconds=4, lr=1e-3, save_to=str(tmp_path / "policy"))
    finally:
        client.close()
    assert out["steps"] >= 1 and all(np.isfinite(out["loss_last"]))
    from act.policy import ACTPolicy

    policy = ACTPolicy.from_pretrained(tmp_path / "policy")
    assert policy.config.pointer_stride == 8 and policy.config.image_size == (120, 160)
