"""ACTPolicy.optimize_for_cpu: packed-weight inference gives the plain fp32 results, outside training."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from act.policy import ACTConfig, ACTPolicy, cpu_inference

pytestmark = pytest.mark.skipif(not cpu_inference.available(), reason="this torch build has no MKL packing")


def _policy(**overrides) -> ACTPolicy:
    torch.manual_seed(0)
    config = ACTConfig(
        image_size=(48, 64),
        dim_model=32,
        n_heads=2,
        dim_feedforward=64,
        n_encoder_layers=1,
        chunk_size=4,
        latent_dim=8,
        n_vae_encoder_layers=1,
        instruction_max_len=8,
        instruction_vocab=["<pad>", "<unk>", "click", "ok"],
        **overrides,
    )
    return ACTPolicy(config).eval()


def _inputs(batch: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    image = torch.randint(0, 255, (batch, 3, 48, 64), dtype=torch.uint8, generator=g)
    return image, torch.tensor([[2, 3, 0, 0, 0, 0, 0, 0]] * batch)


@pytest.mark.parametrize("backbone", ["convnet", "resnet18"])
def test_optimized_policy_predicts_what_the_plain_one_does(backbone):
    policy = _policy(backbone=backbone)
    image, ids = _inputs()
    plain = policy.predict_chunk_batch(image, ids)
    assert cpu_inference.optimize_for_cpu(policy) > 0
    routed = [m for m in policy.modules() if hasattr(m, "_act_packed")]
    fast = policy.predict_chunk_batch(image, ids)
    for key in plain:
        torch.testing.assert_close(fast[key], plain[key], rtol=1e-4, atol=1e-5)
    assert any(m._act_packed for m in routed if isinstance(m, nn.Linear))  # the packed path ran
    if backbone == "resnet18":  # late stages have few output pixels: the im2col path ran
        assert any(m._act_packed for m in routed if isinstance(m, nn.Conv2d))
    assert cpu_inference.optimize_for_cpu(policy) == 0  # idempotent


def test_training_and_weight_updates_are_unaffected():
    policy = _policy()
    reference = _policy()
    policy.optimize_for_cpu()
    image, ids = _inputs(2)
    policy.predict_chunk_batch(image[:1], ids[:1])  # packs
    # Autograd takes the plain path: the same gradients as an unoptimised twin.
    layer, twin = policy.model.kind_head, reference.model.kind_head
    x = torch.randn(3, layer.in_features)
    layer(x).sum().backward()
    twin(x).sum().backward()
    torch.testing.assert_close(layer.weight.grad, twin.weight.grad)
    # A weight changed in place is re-packed before its next packed use.
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.01)
        for p in reference.parameters():
            p.add_(0.01)
    fast, plain = (
        policy.predict_chunk_batch(image[:1], ids[:1]),
        reference.predict_chunk_batch(image[:1], ids[:1]),
    )
    for key in plain:
        torch.testing.assert_close(fast[key], plain[key], rtol=1e-4, atol=1e-5)


def test_state_dict_is_untouched(tmp_path):
    policy = _policy().optimize_for_cpu()
    keys = set(_policy().state_dict())
    assert set(policy.state_dict()) == keys
    loaded = ACTPolicy.from_pretrained(policy.save_pretrained(tmp_path / "p"))
    assert set(loaded.state_dict()) == keys


@pytest.mark.skipif(not cpu_inference.available(bf16=True), reason="this CPU has no native bf16 (oneDNN)")
@pytest.mark.parametrize("backbone", ["convnet", "resnet18"])
def test_bf16_weights_predict_close_to_fp32_and_switch_back(backbone):
    policy = _policy(backbone=backbone)
    image, ids = _inputs()
    plain = policy.predict_chunk_batch(image, ids)
    assert policy.optimize_for_cpu(bf16=True) is policy
    fast = policy.predict_chunk_batch(image, ids)
    packed = [
        v
        for m in policy.modules()
        if isinstance(m, nn.Linear)
        for _, v in getattr(m, "_act_packed", {}).values()
    ]
    assert packed and all(w.dtype == torch.bfloat16 for w, _ in packed), "no Linear ran on bf16 weights"
    assert cpu_inference.precision(policy) == "bf16"
    for key in plain:  # bf16 keeps ~3 significant digits: close, not equal
        torch.testing.assert_close(fast[key], plain[key], rtol=0.05, atol=0.01)
        assert fast[key].dtype == plain[key].dtype
    assert not torch.equal(fast["kind_probs"], plain["kind_probs"])  # it did run in bf16
    assert cpu_inference.optimize_for_cpu(policy, bf16=True) == 0  # idempotent
    assert cpu_inference.optimize_for_cpu(policy) > 0  # back to fp32: the fp32 results again
    back = policy.predict_chunk_batch(image, ids)
    for key in plain:
        torch.testing.assert_close(back[key], plain[key], rtol=1e-4, atol=1e-5)


@pytest.mark.skipif(not cpu_inference.available(bf16=True), reason="this CPU has no native bf16 (oneDNN)")
def test_bf16_copies_follow_in_place_weight_and_bias_changes_and_replaced_tensors():
    policy, reference = _policy().optimize_for_cpu(bf16=True), _policy()
    image, ids = _inputs()
    policy.predict_chunk_batch(image, ids)  # packs
    for change in ("bias", "weight", "replaced"):
        with torch.no_grad():
            for m in (policy.model.kind_head, reference.model.kind_head):
                if change == "bias":  # a bias alone changed: its bf16 copy must be re-made
                    m.bias.add_(torch.linspace(-3, 3, m.bias.numel()))
                elif change == "weight":
                    m.weight.mul_(-2.0)
                else:  # a new tensor behind the same parameter: its version counter says nothing
                    m.bias.data = torch.linspace(3, -3, m.bias.numel())
        fast, plain = policy.predict_chunk_batch(image, ids), reference.predict_chunk_batch(image, ids)
        torch.testing.assert_close(fast["kind_probs"], plain["kind_probs"], rtol=0.05, atol=0.01, msg=change)


def test_bf16_without_bf16_instructions_warns_and_packs_fp32(monkeypatch):
    policy = _policy()
    image, ids = _inputs()
    plain = policy.predict_chunk_batch(image, ids)
    monkeypatch.setattr(cpu_inference, "available", lambda bf16=False: not bf16)
    with pytest.warns(UserWarning, match="no bf16 instructions"):
        assert cpu_inference.optimize_for_cpu(policy, bf16=True) > 0
    assert cpu_inference.precision(policy) == "fp32"
    fast = policy.predict_chunk_batch(image, ids)
    for key in plain:
        torch.testing.assert_close(fast[key], plain[key], rtol=1e-4, atol=1e-5)


def test_a_routed_policy_can_be_deep_copied_after_packing():
    import copy

    policy = _policy(backbone="resnet18").optimize_for_cpu()
    image, ids = _inputs()
    before = policy.predict_chunk_batch(image, ids)  # packs (oneDNN tensors cannot be copied)
    twin = copy.deepcopy(policy)
    assert cpu_inference.precision(twin) == "fp32" and not twin.model.kind_head._act_packed
    after = twin.predict_chunk_batch(image, ids)  # re-packs its own weights
    for key in before:
        torch.testing.assert_close(after[key], before[key])
    assert twin.model.kind_head._act_packed and twin.model.kind_head.forward.__self__ is twin.model.kind_head
