"""The contract kit over QLoRA, and what is specific to it."""

from __future__ import annotations

import bitsandbytes as bnb
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from peftctl.api import PeftctlError, causal_lm
from peftctl.testing import (
    MethodContract,
    inference_flops,
    make_method,
    parameter_counts,
    random_batch,
    shipped_recipe,
    tiny_llama,
    token_loss,
)

R4 = {"r": 4}


class TestQLora(MethodContract):
    method_name = "qlora"
    method_options = R4
    # r=4 on 7 linears x 2 layers: A [4, in] + B [out, 4]
    expected_trainable = 2 * 4 * ((32 + 32) * 2 + (32 + 16) * 2 + (32 + 64) * 2 + (64 + 32))

    def test_inference_cost_runs_the_adapted_model(self) -> None:
        """The cost forward runs; bitsandbytes' 4-bit kernels are invisible to torch's FLOP
        counter, so QLoRA's count holds the LoRA, head and attention FLOPs only (known
        undercount, docs/plugins.md) and is below the full-precision base's."""
        method, model = self.trained()
        assert 0 < inference_flops(model.eval(), method) < inference_flops(self.base_model(), None)


def make(**options):
    return make_method("qlora", **options)


def wider_llama() -> nn.Module:
    """tiny_llama with hidden 128: every in_features is a multiple of the 64-weight block,
    which bitsandbytes' avx512-bf16 repacking needs."""
    return tiny_llama(hidden_size=128, intermediate_size=256)


def four_bit_layers(model: nn.Module) -> list[bnb.nn.Linear4bit]:
    return [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]


def test_decoder_linears_are_nf4_and_the_head_is_not():
    model = make().apply(tiny_llama())
    layers = four_bit_layers(model)
    assert len(layers) == 2 * 7
    for layer in layers:
        state = layer.weight.quant_state
        assert layer.weight.dtype == torch.uint8 and state.quant_type == "nf4"
        assert state.nested  # double quantisation
        assert layer.weight.numel() * 2 == layer.in_features * layer.out_features
    assert type(causal_lm(model).get_output_embeddings()) is nn.Linear
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)


def test_run_card_counts_4bit_weights_at_their_logical_shape():
    base_total = sum(p.numel() for p in tiny_llama().parameters())
    counts = parameter_counts(make().apply(tiny_llama()))
    assert counts["total"] == base_total + counts["trainable"]


def test_fp4_and_single_quantisation_are_options():
    model = make(quant_type="fp4", double_quant=False).apply(tiny_llama())
    states = [layer.weight.quant_state for layer in four_bit_layers(model)]
    assert states and all(s.quant_type == "fp4" and not s.nested for s in states)


def test_checkpoint_holds_only_lora_weights(tmp_path):
    method = make(r=4)
    model = method.apply(tiny_llama())
    method.save(model, tmp_path / "adapter")
    saved = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    assert saved and all("lora_A" in k or "lora_B" in k for k in saved)
    assert sum(t.numel() for t in saved.values()) == TestQLora.expected_trainable


def test_merge_gives_a_full_precision_model_without_4bit_layers():
    method = make(r=4, target_modules=["q_proj", "v_proj"])  # the other linears have no LoRA
    model = method.apply(tiny_llama())
    TestQLora().train_step(method, model)
    batch = random_batch()
    expected = TestQLora().logits(method, model, batch)
    merged = method.merge(model)
    assert not four_bit_layers(merged)
    assert not [n for n, p in merged.named_parameters() if p.requires_grad or "lora" in n]
    assert merged.model.layers[0].self_attn.k_proj.weight.dtype == torch.float32
    with torch.no_grad():
        got = merged(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(got[real], expected[real], atol=1e-4, rtol=0)


def test_unload_asks_for_a_fresh_base():
    method = make()
    assert method.unload(method.apply(tiny_llama())) is None


def test_pissa_init_is_refused():
    with pytest.raises(PeftctlError, match="init=pissa"):
        make(init="pissa")


# -- bitsandbytes 0.50 avx512-bf16 repacking ------------------------------------------------
@pytest.fixture
def avx512bf16_cpu(monkeypatch):
    """bitsandbytes believes this CPU has avx512-bf16 (new Linear4bit layers would repack)."""
    monkeypatch.setattr(bnb.nn.modules, "has_avx512bf16", lambda: True)
    assert bnb.nn.Linear4bit(64, 64).support_avx512bf16_for_cpu


def lora_grads(method, model, seed: int = 5) -> tuple[float, dict[str, torch.Tensor]]:
    """Loss on a fixed batch and the LoRA gradients it gives (gradients cleared after)."""
    model.train()
    loss = token_loss(method, model, random_batch(seed=seed))
    loss.backward()
    grads = {n: p.grad.clone() for n, p in method.trainable_parameters(model)}
    model.zero_grad(set_to_none=True)
    return float(loss), grads


def evaluate_without_grad(model) -> None:
    model.eval()
    batch = random_batch(seed=9)
    with torch.no_grad():
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])


def with_nonzero_b(method):
    """A QLoRA model whose B matrices are non-zero, so every LoRA matrix gets a gradient."""
    model = method.apply(wider_llama())
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    return model


def test_repacking_is_off_on_every_4bit_layer_after_apply_and_load(avx512bf16_cpu, tmp_path):
    method = make(r=4)
    model = method.apply(wider_llama())
    assert four_bit_layers(model)
    assert not any(layer.support_avx512bf16_for_cpu for layer in four_bit_layers(model))
    method.save(model, tmp_path / "adapter")
    for trainable in (False, True):
        loaded = make(r=4).load(wider_llama(), tmp_path / "adapter", trainable=trainable)
        assert four_bit_layers(loaded)
        assert not any(layer.support_avx512bf16_for_cpu for layer in four_bit_layers(loaded))


def test_training_after_a_no_grad_evaluation_keeps_its_gradients(avx512bf16_cpu):
    """Train, evaluate under no_grad, train again: same gradients as without the evaluation,
    none of them zero, and the loss keeps falling."""
    torch.manual_seed(1)
    method = make(r=4)
    model = with_nonzero_b(method)
    optimizer = torch.optim.AdamW([p for _, p in method.trainable_parameters(model)], lr=1e-2)
    losses = []
    for _ in range(2):
        loss, grads = lora_grads(method, model)
        evaluate_without_grad(model)
        loss_after_eval, grads_after_eval = lora_grads(method, model)
        assert loss_after_eval == loss
        for name, grad in grads.items():
            assert grad.abs().sum() > 0, f"{name} has no gradient"
            torch.testing.assert_close(grads_after_eval[name], grad, atol=1e-6, rtol=0)
        losses.append(loss)
        for name, param in method.trainable_parameters(model):
            param.grad = grads_after_eval[name]
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    losses.append(lora_grads(method, model)[0])
    assert losses[2] < losses[1] < losses[0]


def test_the_gradient_check_catches_repacking(avx512bf16_cpu):
    """The previous test can fail: with repacking left on, bitsandbytes 0.50 changes the
    gradients after a no_grad evaluation (if this fails, bitsandbytes fixed its repacking
    and peftctl_qlora.quantize.disable_cpu_repacking can go)."""
    torch.manual_seed(1)
    method = make(r=4)
    model = with_nonzero_b(method)
    for layer in four_bit_layers(model):
        layer.support_avx512bf16_for_cpu = True
    _, before = lora_grads(method, model)
    evaluate_without_grad(model)
    _, after = lora_grads(method, model)
    assert any(not torch.allclose(after[n], g, atol=1e-6, rtol=0) for n, g in before.items())


def test_recipe_is_shipped_and_valid():
    recipe = shipped_recipe("qlora_sst2")
    assert recipe.command == "peftctl train qlora_sst2"
    assert recipe.config.method.name == "qlora" and recipe.config.method.quant_type == "nf4"
