"""The recipe's plain sections: model, train, eval (typed, with defaults and help). No torch."""

from __future__ import annotations

from dataclasses import dataclass, field

from peftctl.facts.names import DEFAULT_MODEL

SCHEDULERS = (
    "linear",
    "cosine",
    "constant",
    "constant_with_warmup",
    "cosine_with_restarts",
    "polynomial",
    "inverse_sqrt",
)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
EVAL_MODES = ("generate", "rank")
REPORT_TO = ("none", "tensorboard", "wandb", "mlflow")
EVAL_SPLITS = ("eval", "test")
DISTRIBUTED = ("auto", "none", "ddp", "fsdp")


@dataclass
class ModelConfig:
    """The base model."""

    name: str = field(
        default=DEFAULT_MODEL,
        metadata={"help": "Built-in alias, Hugging Face hub id or local model directory."},
    )
    trust_remote_code: bool = field(
        default=False, metadata={"help": "Run code shipped with the model (only if you trust it)."}
    )

    def validate(self) -> None:
        from peftctl.facts.names import check_model_name

        check_model_name(self.name)


@dataclass
class TrainConfig:
    """The optimisation loop."""

    epochs: int = field(default=1, metadata={"help": "Passes over the train split.", "min": 1})
    max_steps: int = field(
        default=0,
        metadata={"help": "Optimiser steps to run; 0 = as many as `epochs` take.", "min": 0},
    )
    batch_size: int = field(
        default=8, metadata={"help": "Examples per micro-batch per process.", "min": 1}
    )
    grad_accum: int = field(
        default=1, metadata={"help": "Micro-batches per optimiser step.", "min": 1}
    )
    lr: float = field(default=2e-4, metadata={"help": "Peak learning rate.", "min": 0.0})
    scheduler: str = field(
        default="linear",
        metadata={"help": "Learning-rate schedule (transformers names).", "choices": SCHEDULERS},
    )
    warmup_ratio: float = field(
        default=0.0,
        metadata={"help": "Fraction of steps spent warming up.", "min": 0.0, "max": 1.0},
    )
    weight_decay: float = field(
        default=0.0, metadata={"help": "AdamW weight decay (not on biases/norms).", "min": 0.0}
    )
    max_grad_norm: float = field(
        default=1.0, metadata={"help": "Gradient clipping norm; 0 = no clipping.", "min": 0.0}
    )
    precision: str = field(
        default="auto",
        metadata={
            "help": "auto = bf16 autocast only where bf16 is fast (a GPU with bf16; a CPU where "
            "a cached probe measures it faster), else fp32.",
            "choices": PRECISIONS,
        },
    )
    gradient_checkpointing: bool = field(
        default=False, metadata={"help": "Recompute activations to save memory (slower)."}
    )
    group_by_length: bool = field(
        default=False,
        metadata={"help": "Batch examples of similar length together (less padding)."},
    )
    eval_every: int = field(
        default=0,
        metadata={"help": "Eval loss every N steps; 0 = only after training.", "min": 0},
    )
    save_every: int = field(
        default=0,
        metadata={"help": "Resumable checkpoint every N steps; 0 = none.", "min": 0},
    )
    keep_checkpoints: int = field(
        default=2, metadata={"help": "How many recent checkpoints to keep.", "min": 1}
    )
    early_stopping_patience: int = field(
        default=0,
        metadata={"help": "Stop after N evals without improvement; 0 = never.", "min": 0},
    )
    report_to: str = field(
        default="none",
        metadata={
            "help": "Also log to an experiment tracker through accelerate (tensorboard writes "
            "to output_dir/tracking; wandb and mlflow need their package and login).",
            "choices": REPORT_TO,
        },
    )
    log_every: int = field(
        default=1, metadata={"help": "Write a log.jsonl record every N steps.", "min": 1}
    )
    distributed: str = field(
        default="auto",
        metadata={
            "help": "How several processes (torchrun / accelerate launch) share the work: ddp = "
            "each holds the whole model; fsdp = the frozen base and the adapter sharded per "
            "decoder layer (FSDP2), for bases too big for one device; none = one process; "
            "auto = ddp when launched as several processes, else none.",
            "choices": DISTRIBUTED,
        },
    )


@dataclass
class EvalConfig:
    """Evaluation during and after training."""

    batch_size: int = field(default=16, metadata={"help": "Eval micro-batch size.", "min": 1})
    at_start: bool = field(
        default=True,
        metadata={"help": "Also measure eval loss before the first step (with train.eval_every)."},
    )
    load_best: bool = field(
        default=True,
        metadata={"help": "adapter/ holds the weights of the best eval loss, not the last."},
    )
    after_train: bool = field(
        default=False,
        metadata={"help": "Score the trained adapter (metrics.json) when training ends."},
    )
    mode: str = field(
        default="generate",
        metadata={
            "help": "generate = greedy answer parsed against the verbalizers (the paper's "
            "protocol); rank = the most likely verbalizer.",
            "choices": EVAL_MODES,
        },
    )
    split: str = field(
        default="eval",
        metadata={
            "help": "Which split to score (its real name is the dataset's); validation and "
            "dev mean eval.",
            "choices": EVAL_SPLITS,
            "aliases": {"validation": "eval", "dev": "eval", "val": "eval"},
        },
    )
    max_new_tokens: int = field(
        default=0,
        metadata={
            "help": "Longest generated answer; 0 = by task (classification: the longest "
            "verbalizer + 8, math/code 512).",
            "min": 0,
        },
    )
    length_normalise: bool = field(
        default=False,
        metadata={"help": "Rank mode: compare mean instead of summed token log-probs."},
    )
    pscp: bool = field(
        default=True,
        metadata={"help": "Measure inference FLOPs/memory on 1x512 tokens and report PSCP."},
    )
    pscp_variant: str = field(
        default="builtin",
        metadata={
            "help": "builtin = PEFT-Factory's PSCP (beta 1, absolute FLOPs); peft_bench = its "
            "paper script's (beta 2, FLOPs above the base model's).",
            "choices": ("builtin", "peft_bench"),
        },
    )
