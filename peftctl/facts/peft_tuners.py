"""What peftctl knows about peft's tuner types without importing peft: a one-line summary, a
category and a starting learning rate per config class (``peftctl new-method --peft-config``
writes them into a new package). No torch here.

The learning rates are those of peft's own method comparison (``method_comparison/MetaMathQA``:
Llama-3.2-3B, 5,000 steps of batch 4; its default is 1e-4 where an experiment sets none). A
short budget on a small model usually wants more: sweep it (``methods[i].lr=[...]`` in a bench).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

NONE: Mapping[str, Any] = MappingProxyType({})


class TunerFacts(NamedTuple):
    """One peft config class: what it does, its peftctl category, where to start the lr, its
    paper, and the options a scaffolded package starts from where peft's defaults do not fit."""

    summary: str
    category: str
    lr: float
    #: "Hyeon-Woo et al., 2022": the summary's reference
    paper: str = ""
    #: where to read it: an arXiv id ("2108.06098") or a URL
    link: str = ""
    #: peftctl's defaults where peft's do not make a working method on the default causal LM
    #: (SmolLM2-135M: widths 576, 192 and 1536); the recipe and the estimate use them
    options: Mapping[str, Any] = NONE
    #: on top of those, for the contract kit's tiny model (widths 32, 16, 64)
    test_options: Mapping[str, Any] = NONE
    #: the method's own spelling where peft's class name differs ("VB-LoRA")
    title: str = ""
    #: the default ``target_modules`` where the queries and values are not the paper's choice
    targets: tuple[str, ...] = ()
    #: libraries peft's tuner imports beyond peft's own requirements (the package declares them)
    requires: tuple[str, ...] = ()


PEFT_DEFAULT_LR = 1e-4
_R, _A, _S, _P, _H = "reparameterised", "additive", "selective", "prompt-based", "hybrid"

PEFT_TUNERS: dict[str, TunerFacts] = {
    "AdaLoraConfig": TunerFacts(
        "LoRA with SVD-shaped updates whose rank budget is pruned", _R, 1e-4
    ),
    "AdamssConfig": TunerFacts(
        "adaptive multi-subspace updates from the weight's SVD",
        _R,
        1e-4,
        "NeurIPS 2025",
        "https://openreview.net/forum?id=8ZdWmpYxT0",
        test_options={"r": 8, "num_subspaces": 2},
        title="AdaMSS",
        requires=("scikit-learn>=1.3",),  # its subspaces are KMeans clusters
    ),
    "AdaptionPromptConfig": TunerFacts("Llama-Adapter: gated prompts in the top layers", _P, 5e-3),
    "BOFTConfig": TunerFacts(
        "butterfly-factorised orthogonal weight rotations",
        _R,
        1e-4,
        "Liu et al., 2024",
        "2311.06243",
        options={"boft_block_size": 16},
        title="BOFT",
    ),
    "BdLoraConfig": TunerFacts("block-diagonal LoRA for sharded serving", _R, 1e-4),
    "BeftConfig": TunerFacts(
        "trained bias offsets on the target layers",
        _S,
        1e-4,
        "Huang et al., 2025",
        "2509.15974",
        title="BEFT",
        targets=("role:value",),
    ),
    "C3AConfig": TunerFacts(
        "circular-convolution adapters",
        _R,
        3e-1,
        "Chen et al., 2024",
        "2407.19342",
        options={"block_size": 64},
        test_options={"block_size": 16},
        title="C3A",
    ),
    "CPTConfig": TunerFacts("context-aware prompt tuning on in-context examples", _P, 1e-4),
    "CartridgeConfig": TunerFacts("a trained KV-cache prefix distilled from a corpus", _P, 1e-4),
    "DeftConfig": TunerFacts(
        "decomposed low-rank updates with a trained direction", _R, 1e-4, title="DEFT"
    ),
    "DeloraConfig": TunerFacts(
        "LoRA with decoupled, bounded update norms",
        _R,
        1e-3,
        "Bini et al., 2025",
        "2503.18225",
        title="DeLoRA",
    ),
    "FourierFTConfig": TunerFacts(
        "a few trained spectral coefficients per weight",
        _R,
        1e-4,
        "Gao et al., 2024",
        "2405.03003",
        test_options={"n_frequency": 100},
        title="FourierFT",
    ),
    "FrodConfig": TunerFacts(
        "sparse rotations of the weight's frozen eigenbasis",
        _R,
        1e-3,
        "AAAI 2026",
        "https://doi.org/10.1609/aaai.v40i31.39813",
        options={"progressbar": False},
        title="FRoD",
    ),
    "GloraConfig": TunerFacts(
        "generalised LoRA: trained scale, shift and low-rank paths",
        _R,
        5e-4,
        "Chavan et al., 2023",
        "2306.07967",
        title="GLoRA",
    ),
    "GraloraConfig": TunerFacts(
        "granular LoRA: a grid of small blocks per weight",
        _R,
        2e-4,
        "Jung et al., 2025",
        "2505.20355",
        test_options={"r": 8},
        title="GraLoRA",
    ),
    "HRAConfig": TunerFacts(
        "Householder reflections applied to the weights",
        _R,
        1e-4,
        "Yuan et al., 2024",
        "2405.17484",
        title="HRA",
    ),
    "HiraConfig": TunerFacts(
        "Hadamard high-rank updates (W * AB)",
        _R,
        4.5e-3,
        "Huang et al., 2025",
        "https://openreview.net/forum?id=TwJrTz9cRS",
        test_options={"r": 8},
        title="HiRA",
    ),
    "IA3Config": TunerFacts("learned rescaling of keys, values and feed-forward inputs", _A, 1e-3),
    "KasaConfig": TunerFacts("knowledge-aware SVD adaptation of the weights", _R, 1e-4),
    "LNTuningConfig": TunerFacts("trains the layer norms", _S, 1e-4),
    "LilyConfig": TunerFacts(
        "low-rank experts shared across layers with routers",
        _R,
        1e-4,
        "Zhong & Zhou, 2024",
        "2407.09946",
        test_options={"r": 8},
        title="Lily",
    ),
    "LoHaConfig": TunerFacts(
        "low-rank Hadamard product updates",
        _R,
        1e-4,
        "Hyeon-Woo et al., 2022",
        "2108.06098",
        title="LoHa",
    ),
    "LoKrConfig": TunerFacts(
        "low-rank Kronecker product updates",
        _R,
        3e-3,
        "Yeh et al., 2024",
        "2309.14859",
        title="LoKr",
    ),
    "LoraConfig": TunerFacts("low-rank updates W + (alpha / r) BA", _R, 1e-4),
    "MissConfig": TunerFacts(
        "matrix shard sharing: one small trained shard per weight",
        _R,
        1e-4,
        "Kang & Yin, 2024",
        "2409.15371",
        test_options={"r": 8},
        title="MiSS",
    ),
    "MontecloraConfig": TunerFacts("LoRA with Monte Carlo sampled low-rank updates", _R, 1e-4),
    "MultitaskPromptTuningConfig": TunerFacts("a shared soft prompt with task factors", _P, 1e-4),
    "OFTConfig": TunerFacts("block-diagonal orthogonal rotations of the weights", _R, 1e-4),
    "OSFConfig": TunerFacts(
        "orthogonal subspace fine-tuning of the minor singular part",
        _R,
        5e-5,
        "Nayak et al., 2025",
        "2504.07097",
        title="OSF",
        options={"effective_rank": 0.5},
    ),
    "PacaConfig": TunerFacts(
        "partial connection adaptation: a few trained weight columns",
        _S,
        1e-4,
        "Woo et al., 2025",
        "2503.01905",
        options={"random_seed": 0},
        title="PaCA",
    ),
    "PeanutConfig": TunerFacts(
        "non-linear low-rank updates computed from the weights",
        _R,
        1e-4,
        "Zhong et al., 2024",
        "2410.01870",
        title="PEANuT",
    ),
    "PolyConfig": TunerFacts("a routed mixture of LoRA skills per task", _H, 1e-4),
    "PrefixTuningConfig": TunerFacts("trained key/value prefixes in every layer", _P, 1e-3),
    "PromptEncoderConfig": TunerFacts("P-tuning: soft prompts from a prompt encoder", _P, 1e-4),
    "PromptTuningConfig": TunerFacts("trained soft-prompt embeddings", _P, 1e-3),
    "PsoftConfig": TunerFacts(
        "principal-subspace orthogonal fine-tuning",
        _R,
        1e-4,
        "ICLR 2026",
        "https://openreview.net/forum?id=FSHrinMArK",
        test_options={"r": 8},
        title="PSOFT",
    ),
    "PveraConfig": TunerFacts(
        "VeRA with a probabilistic (sampled) projection",
        _R,
        3e-3,
        "Fillioux et al., 2025",
        "2512.07703",
        title="PVeRA",
    ),
    "RandLoraConfig": TunerFacts(
        "full-rank updates from random low-rank bases",
        _R,
        1e-4,
        "Albert et al., 2025",
        "2502.00987",
        test_options={"r": 8},
        title="RandLoRA",
    ),
    "RoadConfig": TunerFacts(
        "trained 2-d rotations of the outputs",
        _R,
        1e-3,
        "Liao & Monz, 2024",
        "2409.00119",
        test_options={"group_size": 8},
        title="RoAd",
    ),
    "ShadowConfig": TunerFacts("a small shadow network beside the frozen model", _A, 1e-4),
    "ShiraConfig": TunerFacts(
        "a sparse high-rank set of trained weight entries",
        _S,
        3e-4,
        "Bhardwaj et al., 2024",
        "2406.13175",
        options={"random_seed": 0},
        title="SHiRA",
        test_options={"r": 4},
    ),
    "SupertuningConfig": TunerFacts(
        "a chosen fraction of weight entries trains",
        _S,
        1e-4,
        link="2607.09287",
        title="Super-Tuning",
    ),
    "TinyLoraConfig": TunerFacts(
        "LoRA updates from a tiny shared trained vector",
        _R,
        1e-3,
        "Morris et al., 2026",
        "2602.04118",
        title="TinyLoRA",
    ),
    "TrainableTokensConfig": TunerFacts("trains the embeddings of chosen tokens only", _S, 2e-1),
    "UniLoraConfig": TunerFacts(
        "LoRA weights drawn from one shared trained vector",
        _R,
        1e-4,
        "Li et al., 2025",
        "2506.00799",
        title="Uni-LoRA",
        options={"theta_d_length": 23040},
        test_options={"theta_d_length": 256},
    ),
    "VBLoRAConfig": TunerFacts(
        "LoRA built from a shared bank of trained vectors",
        _R,
        5e-4,
        "Li et al., 2024",
        "2405.15179",
        options={"vector_length": 64},
        test_options={"vector_length": 16},
        title="VB-LoRA",
    ),
    "VeloraConfig": TunerFacts("LoRA with compressed activations for memory", _R, 1e-4),
    "VeraConfig": TunerFacts("trained scales on shared random low-rank matrices", _R, 1e-3),
    "WaveFTConfig": TunerFacts(
        "a few trained wavelet coefficients per weight",
        _R,
        1e-4,
        "Bilican et al., 2025",
        "2505.12532",
        test_options={"n_frequency": 64},
        title="WaveFT",
    ),
    "XLoraConfig": TunerFacts("a learned mixture of existing LoRA experts", _H, 1e-4),
}


def tuner_facts(class_name: str) -> TunerFacts:
    """The facts of peft config ``class_name``; a neutral entry for one not listed yet."""
    return PEFT_TUNERS.get(
        class_name, TunerFacts(f"peft's {class_name} on the target layers", _R, PEFT_DEFAULT_LR)
    )
