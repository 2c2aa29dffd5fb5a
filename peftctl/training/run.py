"""``peftctl train`` end to end: recipe -> model, data, method -> trainer -> outputs.

Outputs in ``output_dir``: ``adapter/``, ``recipe.yaml``, ``run.json``, ``log.jsonl``,
``checkpoints/``. Every file is written atomically.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from peftctl.atomic import write_json_atomic, write_text_atomic
from peftctl.config.recipe import dump_recipe
from peftctl.config.schema import RecipeConfig
from peftctl.errors import PeftctlError
from peftctl.run_files import CHECKPOINTS, RECIPE, RUN_CARD, command_line, versions
from peftctl.training import checkpoint as ckpt
from peftctl.training.outputs import (
    Claim,
    check_output_dir,
    claim_output_dir,
    clear_output_dir,
    parameter_counts,
    warn_single_cpu_process,
)
from peftctl.training.parent import Parent, check_loaded_type, check_parent, parent_card


def run_training(
    config: RecipeConfig, *, resume: bool = False, overwrite: bool = False, quiet: bool = False
) -> dict[str, Any]:
    """Train as ``config`` says; returns the run card (also written to ``run.json``)."""
    import torch
    from accelerate import PartialState

    from peftctl.training.sharding import check_shardable, choose_strategy, map_large_allocations

    parent = check_parent(config)  # a parent that does not fit: before anything else
    out = Path(config.output_dir)
    state = PartialState(cpu=not torch.cuda.is_available())  # gloo group only with cpu=True
    warn_single_cpu_process(state.num_processes)
    strategy = choose_strategy(config.train.distributed, state.num_processes)
    if strategy == "fsdp":
        check_shardable(_method(config)[1])
        map_large_allocations()
    check_output_dir(out, resume=resume, overwrite=overwrite)
    with claim_output_dir(out, main=state.is_main_process, resume=resume) as claim:
        trained = _trained_but_unscored(config, out) if resume else None
        if trained is not None:  # killed while scoring: the training is done, score it
            claim.started = True
            return _score_after_train(config, out, trained, quiet=quiet)
        resume_from = _resume_point(out) if resume else None
        return _train_and_record(
            config, claim, resume_from, parent, strategy, overwrite=overwrite, quiet=quiet
        )


def _trained_but_unscored(config: RecipeConfig, out: Path) -> dict[str, Any] | None:
    """The run card of a run of this very recipe that trained but has no after-train score."""
    import json

    card_path, recipe_path = out / RUN_CARD, out / RECIPE
    if not (config.eval.after_train and card_path.is_file() and recipe_path.is_file()):
        return None
    card = json.loads(card_path.read_text(encoding="utf-8"))
    same = _recipe_body(recipe_path.read_text(encoding="utf-8")) == _recipe_body(
        dump_recipe(config)
    )
    return card if same and "evaluation" not in card else None


def _recipe_body(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("#"))


def _train_and_record(
    config: RecipeConfig,
    claim: Claim,
    resume_from: Path | None,
    parent: Parent | None,
    strategy: str,
    *,
    overwrite: bool,
    quiet: bool,
) -> dict[str, Any]:
    """Load everything, and only then replace ``out``'s old results, train, write the card."""
    import torch
    from accelerate import Accelerator, PartialState
    from accelerate.utils import set_seed

    from peftctl.hardware import choose_precision, cpu_capabilities, precision_warning
    from peftctl.memory import peak_memory
    from peftctl.models.loading import base_dtype
    from peftctl.training.precision import prepare_base, upcast_trainable
    from peftctl.training.trainer import MIXED_PRECISION, Trainer

    started, wall = _now(), time.perf_counter()
    out = claim.path
    state = PartialState()
    device_type = state.device.type
    precision = choose_precision(config.train.precision, device_type)
    warning = precision_warning(precision, device_type)
    if warning and state.is_main_process:
        print(f"warning: {warning}")
    accelerator = Accelerator(
        cpu=device_type == "cpu",
        mixed_precision=MIXED_PRECISION[precision],
        **tracking(config, out),
    )
    set_seed(config.seed)
    model, tokenizer = _load_model(config, base_dtype(precision))
    prepare_base(model, precision, device_type)
    with accelerator.main_process_first():
        train_data, eval_data, data_card = _load_data(config, tokenizer)
    method_spec, method = _method(config)
    model = _start(method, model, parent)
    upcast_trainable(model)
    params = parameter_counts(model)
    # every input is known good: only now replace old results and write this run's files
    if state.is_main_process:
        claim.started = True
        if overwrite:
            clear_output_dir(out)
        write_text_atomic(out / RECIPE, dump_recipe(config, command_line()))
    state.wait_for_everyone()
    if config.train.report_to != "none":
        accelerator.init_trackers(out.name, config=_flat_config(config))
    trainer = Trainer(
        model=model,
        method=method,
        train=config.train,
        eval=config.eval,
        seed=config.seed,
        train_data=train_data,
        eval_data=eval_data,
        pad_id=tokenizer.pad_token_id,
        output_dir=out,
        accelerator=accelerator,
        strategy=strategy,
        quiet=quiet,
    )
    try:
        result = trainer.fit(resume_from=resume_from)
    finally:
        if config.train.report_to != "none":
            accelerator.end_training()
    card = {
        "status": "early_stopped" if result.stopped_early else "finished",
        "command": command_line(),
        "started_at": started,
        "finished_at": _now(),
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "resumed_from": str(resume_from) if resume_from else None,
        "versions": {
            **versions("torch", "transformers", "peft", "accelerate", "peftctl"),
            "method_plugin": method_spec.owner,
        },
        "seed": config.seed,
        "parent": parent_card(parent) if parent else None,
        "device": {"type": device_type, "processes": accelerator.num_processes},
        "distributed": distributed_card(strategy, model, device_type),
        "precision": {
            "requested": config.train.precision,
            "chosen": precision,
            "cpu": cpu_capabilities(),
        },
        "model": config.model.name,
        "method": config.method.name,
        "parameters": params,
        "dataset": data_card,
        "training": {
            **dataclasses.asdict(result),
            "tokens_per_second": round(result.tokens_per_second, 1),
        },
        "memory": peak_memory(device_type),
        "threads": torch.get_num_threads(),
    }
    if accelerator.is_main_process:
        write_json_atomic(out / RUN_CARD, card)
    del trainer, model
    return _score_after_train(config, out, card, quiet=quiet)


def distributed_card(strategy: str, model, device_type: str) -> dict[str, Any]:
    """How the processes shared the work, and what each held: peak memory and the bytes of
    parameters in it (a shard of them under fsdp)."""
    from accelerate import PartialState
    from accelerate.utils import gather_object

    from peftctl.memory import current_rss_bytes, peak_memory
    from peftctl.training.sharding import local_parameter_bytes, nodes

    state = PartialState()
    mine = {
        "rank": state.process_index,
        "parameter_bytes": local_parameter_bytes(model),
        "rss_bytes_after_training": current_rss_bytes(),
        **peak_memory(device_type),
    }
    per_process = gather_object([mine]) if state.num_processes > 1 else [mine]
    return {
        "strategy": strategy,
        "world_size": state.num_processes,
        "nodes": nodes(),
        "per_process": per_process,
    }


def _score_after_train(
    config: RecipeConfig, out: Path, card: dict[str, Any], *, quiet: bool
) -> dict[str, Any]:
    """Add ``eval.after_train``'s score to the card: once, from the saved adapter, on the
    main process, as ``peftctl eval`` would."""
    from accelerate import PartialState

    state = PartialState()
    if config.eval.after_train:
        if state.is_main_process:
            card["evaluation"] = _evaluate_run(config, out, quiet=quiet)
            write_json_atomic(out / RUN_CARD, card)
        state.wait_for_everyone()
    return card


def _evaluate_run(config: RecipeConfig, out: Path, *, quiet: bool) -> dict[str, Any]:
    """``peftctl eval`` on the finished run; what the run card keeps of it."""
    import gc

    from peftctl.evaluation.runner import evaluate
    from peftctl.evaluation.targets import run_dir_target

    gc.collect()
    run_config, candidates = run_dir_target(str(out))
    result = evaluate(run_config, candidates, quiet=quiet)[0]
    keep = ("mode", "split", "examples", "invalid_rate", "examples_per_second")
    return {"metrics": result.metrics, **{key: result.summary[key] for key in keep}}


def tracking(config: RecipeConfig, out: Path) -> dict[str, Any]:
    """Accelerator arguments for ``train.report_to`` (tensorboard: ``out/tracking``)."""
    import importlib.util

    tracker = config.train.report_to
    if tracker == "none":
        return {}
    if importlib.util.find_spec(tracker) is None:
        raise PeftctlError(
            f"train.report_to={tracker} needs the {tracker} package: pip install {tracker} "
            "(or set train.report_to=none)"
        )
    return {"log_with": tracker, "project_dir": str(out / "tracking")}


def _flat_config(config: RecipeConfig) -> dict[str, Any]:
    """The recipe as flat scalar hyper-parameters (what trackers accept)."""
    from peftctl import typed

    flat: dict[str, Any] = {}
    for section, values in typed.to_plain(config).items():
        items = values.items() if isinstance(values, dict) else [("", values)]
        for key, value in items:
            name = f"{section}.{key}" if key else section
            flat[name] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return flat


def _resume_point(out: Path) -> Path:
    latest = ckpt.latest_checkpoint(out / CHECKPOINTS)
    if latest is None:
        raise PeftctlError(
            f"--resume: no checkpoint under {out / CHECKPOINTS}; runs save them when "
            "train.save_every > 0. Run again with --overwrite to start afresh"
        )
    return latest


def _load_model(config: RecipeConfig, dtype):
    from peftctl.models.loading import load_model, load_tokenizer

    remote = config.model.trust_remote_code
    tokenizer = load_tokenizer(config.model.name, trust_remote_code=remote)
    model = load_model(config.model.name, dtype=dtype, trust_remote_code=remote)
    return model, tokenizer


def _load_data(config: RecipeConfig, tokenizer) -> tuple[Any, Any, dict[str, Any]]:
    """Tokenised train and eval splits, and what the run card says about them."""
    from peftctl.datasets.loading import load_split
    from peftctl.datasets.tokenize import tokenize_examples
    from peftctl.models.cache import cache_root
    from peftctl.training.batching import TokenData

    card: dict[str, Any] = {"config": dataclasses.asdict(config.dataset), "splits": {}}
    splits = {}
    for split in ("train", "eval"):
        examples = load_split(config.dataset, split, seed=config.seed)
        if not examples:
            raise PeftctlError(f"dataset '{config.dataset.name}' has an empty {split} split")
        tokens = tokenize_examples(
            examples,
            tokenizer,
            config.dataset.cutoff_len,
            cache_dir=cache_root() / "tokenized",
        )
        splits[split] = TokenData(tokens.input_ids, tokens.labels)
        card["splits"][split] = {
            "examples": len(examples),
            "truncated": tokens.n_truncated,
            "tokens": sum(len(ids) for ids in tokens.input_ids),
            "origin": getattr(examples, "origin", None),
            "first_ids": [str(e.id) for e in examples[:3]],
        }
    return splits["train"], splits["eval"], card


def _start(method, model, parent: Parent | None):
    """``model`` with ``method``'s fresh adapter, or with the parent's adapter, trainable."""
    if parent is None:
        return method.apply(model)
    from peftctl.methods.base import load_adapter

    model = load_adapter(method, model, parent.adapter_dir, trainable=True)
    check_loaded_type(method, model, parent)
    return model


def _method(config: RecipeConfig):
    from peftctl.plugin_manager import get_plugins

    spec = get_plugins().methods.get(config.method.name)
    return spec, spec.load()(config.method)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
