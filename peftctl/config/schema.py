"""The recipe schema: typed sections with defaults and help text. No torch here.

Keys scripts rely on: ``model.name``, ``method.name`` (+ the method's options),
``dataset.*``, ``train.*``, ``eval.*``, ``seed``, ``output_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from peftctl.config.sections import EvalConfig, ModelConfig, TrainConfig
from peftctl.datasets.config import DatasetConfig
from peftctl.errors import PeftctlError, warn_once
from peftctl.methods.base import MethodConfig


@dataclass
class RecipeConfig:
    """A whole training run."""

    method: MethodConfig
    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = field(default=42, metadata={"help": "Seed for every random number generator."})
    output_dir: str = field(
        default="", metadata={"help": "Where results go; empty = runs/<method>_<dataset>."}
    )

    def validate(self) -> None:
        if self.train.early_stopping_patience and not self.train.eval_every:
            raise PeftctlError(
                "train.early_stopping_patience needs periodic evaluation; set train.eval_every"
            )
        from peftctl.plugin_manager import get_plugins

        plugins = get_plugins()
        task = self.dataset.resolved_task
        if not self.dataset.is_user_dataset:
            task = plugins.datasets.get(str(self.dataset.name)).task  # unknown: did-you-mean
        for metric in self.dataset.metrics:
            plugins.metrics.get(metric)  # unknown: did-you-mean, before any training
        if self.eval.mode == "rank" and task != "classification":
            raise PeftctlError(
                f"eval.mode=rank needs a classification dataset and {self.dataset.name} is "
                f"{task}; use eval.mode=generate"
            )
        targets = getattr(self.method, "target_modules", None)
        if targets:  # before any model loads, where the model's shape is known without it
            from peftctl.facts.module_names import check_targets

            check_targets(targets, self.model.name)
        if not self.output_dir:
            self.output_dir = f"runs/{self.method.name}_{self.dataset.name}"
        low, high = self.method.plausible_lr
        if not low <= self.train.lr <= high:
            warn_once(
                f"train.lr={self.train.lr:g} is outside {low:g}..{high:g}, where "
                f"{self.method.name}'s optimiser trains; expect "
                f"{'no learning' if self.train.lr < low else 'divergence'}"
            )


SECTIONS: dict[str, Any] = {
    "model": ModelConfig,
    "dataset": DatasetConfig,
    "train": TrainConfig,
    "eval": EvalConfig,
}
