"""Llama-Adapter's options (the recipe's ``method.*`` keys). No torch here."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.api import Arch, MethodConfig, PeftctlError

#: The attention layouts peft's adaption prompt knows (peft.tuners.adaption_prompt.config).
FAMILIES = ("llama", "mistral", "gpt2")
#: Options that fit the tiny test models (2 layers of width 32): tests/test_contract.py and
#: the core's family matrix use them.
TEST_OPTIONS = {"adapter_len": 4, "adapter_layers": 2}


@dataclass(kw_only=True)
class LlamaAdapterConfig(MethodConfig):
    """Learned prompts that each of the top ``adapter_layers`` attention layers also attends
    to, through a gate that starts at zero (the model starts unchanged)."""

    name: str = field(default="llama_adapter", metadata={"help": "Method name."})
    adapter_len: int = field(
        default=10, metadata={"help": "Prompt tokens per adapted layer.", "min": 1}
    )
    adapter_layers: int = field(
        default=8, metadata={"help": "How many of the top decoder layers get prompts.", "min": 1}
    )

    def validate(self) -> None:
        super().validate()

    def check_model(self, model_type: str, num_layers: int) -> None:
        """One line when the model cannot take the adapter."""
        if model_type not in FAMILIES:
            raise PeftctlError(
                f"llama_adapter adapts {', '.join(FAMILIES)} attention (peft's adaption "
                f"prompt); this model is {model_type}: use prefix_tuning or p_tuning_v2"
            )
        if self.adapter_layers > num_layers:
            raise PeftctlError(
                f"method.adapter_layers={self.adapter_layers}: the model has {num_layers} "
                f"decoder layers; use at most {num_layers}"
            )

    def trainable_estimate(self, arch: Arch) -> int | None:
        if arch.model_type not in FAMILIES or self.adapter_layers > arch.num_layers:
            return None
        # per adapted layer: the prompt (adapter_len x hidden) and one gate
        return self.adapter_layers * (self.adapter_len * arch.hidden_size + 1)
