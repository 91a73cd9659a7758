"""Temporal ensembling: the online ensembler equals the offline computation, and select_action uses it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from act.policy import ACTConfig, ACTPolicy, TemporalEnsembler, ensemble_offline


def random_chunks(t: int, b: int, k: int, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [
        {
            "point": torch.rand(b, k, 2, generator=g),  # continuous
            "scroll": torch.randn(b, k, 2, generator=g) * 3,  # continuous
            "kind_probs": torch.randn(b, k, 8, generator=g).mul(3).softmax(-1),  # discrete: probabilities
        }
        for _ in range(t)
    ]


@pytest.mark.parametrize("coeff", [0.0, 0.01, 0.5, 2.0])
@pytest.mark.parametrize("k", [1, 2, 5])
def test_online_equals_offline(coeff, k):
    chunks = random_chunks(t=13, b=3, k=k)
    ensembler = TemporalEnsembler(coeff, k)
    online = [ensembler.update(c) for c in chunks]
    offline = ensemble_offline(chunks, coeff)
    assert len(online) == len(offline) == 13
    for t, (a, b) in enumerate(zip(online, offline)):
        for name in ("point", "scroll", "kind_probs"):
            assert a[name].shape == chunks[0][name][:, 0].shape
            torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6, msg=f"t={t} {name}")
        assert torch.equal(a["kind_probs"].argmax(-1), b["kind_probs"].argmax(-1))
        torch.testing.assert_close(a["kind_probs"].sum(-1), torch.ones(3))  # still a distribution


def test_weights_by_hand():
    """K = 2, m = ln 2: step t averages chunk t-1 (weight 1, the oldest) and chunk t (weight 1/2)."""
    a = {"x": torch.tensor([[[1.0], [2.0]]])}  # (B=1, K=2, 1) planned at t = 0
    b = {"x": torch.tensor([[[10.0], [20.0]]])}  # planned at t = 1
    c = {"x": torch.tensor([[[100.0], [200.0]]])}  # planned at t = 2
    ens = TemporalEnsembler(math.log(2), 2)
    assert ens.update(a)["x"].item() == pytest.approx(1.0)
    assert ens.update(b)["x"].item() == pytest.approx((2.0 * 1 + 10.0 * 0.5) / 1.5)
    assert ens.update(c)["x"].item() == pytest.approx((20.0 * 1 + 100.0 * 0.5) / 1.5)
    ens.reset()
    assert ens.update(c)["x"].item() == pytest.approx(100.0)
    with pytest.raises(ValueError, match="3 steps"):
        ens.update({"x": torch.zeros(1, 3, 1)})


def test_select_action_ensembles_like_offline():
    torch.manual_seed(0)
    config = ACTConfig(
        image_size=(24, 32),
        convnet_channels=(8, 16),
        convnet_strides=(2, 2),
        dim_model=32,
        n_heads=4,
        dim_feedforward=64,
        n_encoder_layers=1,
        n_vae_encoder_layers=1,
        latent_dim=8,
        chunk_size=4,
        n_action_steps=4,
        instruction_vocab=["click", "ok"],
        instruction_max_len=4,
        temporal_ensemble_coeff=0.3,
    )
    policy = ACTPolicy(config).eval()
    rng = np.random.default_rng(0)
    observations = [
        {"screen": rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), "instruction": "click ok"}
        for _ in range(7)
    ]
    fields = ("kind_probs", "key_probs", "point", "point2", "scroll")
    chunks = []
    for obs in observations:  # the plans, from the call that never ensembles
        p = policy.predict_chunk_batch(*policy._observation(obs))
        chunks.append({k: p[k] for k in fields})
    expected = ensemble_offline(chunks, 0.3)

    policy.reset()
    for t, obs in enumerate(observations):
        action = policy.select_action(obs)
        assert action["kind"] == int(expected[t]["kind_probs"][0].argmax())
        np.testing.assert_allclose(action["point"], expected[t]["point"][0].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(action["scroll"], expected[t]["scroll"][0].numpy(), rtol=1e-5, atol=1e-6)
    # The ensemble differs from simply executing each new plan's first step (else the test proves nothing).
    assert any(not np.allclose(expected[t]["point"][0], chunks[t]["point"][0, 0]) for t in range(1, 7))

    policy.reset()  # a new episode starts from the new plan alone
    first = policy.select_action(observations[3])
    np.testing.assert_allclose(first["point"], chunks[3]["point"][0, 0].numpy(), rtol=1e-6)


def test_discrete_heads_are_averaged_as_probabilities_by_hand():
    """K = 2, m = ln 2, three kinds: step 1 averages the first chunk's step 1 (weight 1) and the second
    chunk's step 0 (weight 1/2). The first prefers kind 0, the second kind 2; the mean of their
    probabilities prefers kind 1, which neither chunk chose (a vote would keep the oldest's 0)."""
    first = {"kind_probs": torch.tensor([[[1.0, 0.0, 0.0], [0.5, 0.4, 0.1]]])}
    second = {"kind_probs": torch.tensor([[[0.0, 0.4, 0.6], [1.0, 0.0, 0.0]]])}
    ens = TemporalEnsembler(math.log(2), 2)
    torch.testing.assert_close(ens.update(first)["kind_probs"], torch.tensor([[1.0, 0.0, 0.0]]))
    step = ens.update(second)["kind_probs"]
    expected = torch.tensor([[0.5 / 1.5, (0.4 + 0.2) / 1.5, (0.1 + 0.3) / 1.5]])
    torch.testing.assert_close(step, expected)
    assert int(step.argmax(-1)) == 1
    torch.testing.assert_close(ensemble_offline([first, second], math.log(2))[1]["kind_probs"], expected)
