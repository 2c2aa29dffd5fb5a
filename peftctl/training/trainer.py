"""The training loop on accelerate: accumulation, clipping, schedules, eval, checkpoints.

One process by default; under ``accelerate launch`` / ``torchrun`` every process runs the
same deterministic batch plan and takes its own share of each step's micro-batches, holding
the whole model (``ddp``) or a shard of it (``fsdp``, :mod:`peftctl.training.sharding`).
"""

from __future__ import annotations

import contextlib
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn

from peftctl.atomic import disk_errors
from peftctl.config.sections import EvalConfig, TrainConfig
from peftctl.errors import PeftctlError
from peftctl.file_checks import damaged_files
from peftctl.methods.base import Method, write_dir_atomically
from peftctl.models.transformers_compat import enable_checkpointing
from peftctl.run_files import ADAPTER, CHECKPOINTS, RUN_CARD
from peftctl.training import checkpoint as ckpt
from peftctl.training import packing, sharding
from peftctl.training.batching import (
    IGNORE_INDEX,
    TokenData,
    collate,
    epoch_batches,
    sorted_batches,
)
from peftctl.training.loss import SparseLMLoss
from peftctl.training.progress import Progress, RunLog

MIXED_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}
# oneDNN builds bf16 kernels per shape: fewer distinct widths beat a little extra padding
BF16_PAD_MULTIPLE = 16


class TrainingDiverged(PeftctlError):
    """The loss became NaN or infinite."""


@dataclass
class TrainState:
    """What a checkpoint must restore besides tensors (JSON-serialisable)."""

    step: int = 0
    tokens: int = 0
    train_seconds: float = 0.0
    best_eval_loss: float | None = None
    best_step: int | None = None
    last_eval_loss: float | None = None
    last_eval_step: int | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrainResult:
    """Summary of a finished run (goes into ``run.json``)."""

    steps: int
    total_steps: int
    tokens: int
    train_seconds: float
    tokens_per_second: float
    final_train_loss: float | None
    final_eval_loss: float | None
    best_eval_loss: float | None
    best_step: int | None
    adapter_step: int
    stopped_early: bool
    batching: str
    batching_reason: str | None  # why packing was not used, when it was not


class Trainer:
    """Fits ``method``'s trainable parameters of ``model`` on ``train_data``."""

    def __init__(
        self,
        *,
        model: nn.Module,
        method: Method,
        train: TrainConfig,
        eval: EvalConfig,
        seed: int,
        train_data: TokenData,
        eval_data: TokenData | None,
        pad_id: int,
        output_dir: Path,
        accelerator: Accelerator,
        strategy: str = "none",
        quiet: bool = False,
    ) -> None:
        self.cfg, self.eval_cfg, self.seed = train, eval, seed
        self.method = method
        self.train_data, self.eval_data = train_data, eval_data
        self.pad_id = pad_id
        self.output_dir = Path(output_dir)
        self.checkpoints = self.output_dir / CHECKPOINTS
        self.acc = accelerator
        self.sharded = strategy == "fsdp"
        self.quiet = quiet
        self.state = TrainState()
        self.steps_per_epoch = self._steps_per_epoch()
        self.total_steps = train.max_steps or train.epochs * self.steps_per_epoch
        self._model = model
        self._lengths = train_data.lengths()
        self._plan: tuple[int, list[list[int]]] = (-1, [])
        self._pad_multiple = BF16_PAD_MULTIPLE if accelerator.mixed_precision == "bf16" else 1
        self._build(model)

    # -- setup -------------------------------------------------------------------------
    def _steps_per_epoch(self) -> int:
        per_step = self.cfg.batch_size * self.cfg.grad_accum * self.acc.num_processes
        steps = len(self.train_data) // per_step
        if steps == 0:
            raise PeftctlError(
                f"the train split has {len(self.train_data)} examples, fewer than one step needs "
                f"(train.batch_size x train.grad_accum x processes = {per_step}); lower them or "
                "raise dataset.max_train_samples"
            )
        return steps

    def _build(self, model: nn.Module) -> None:
        from transformers import get_scheduler

        if self.cfg.gradient_checkpointing:
            from peftctl.methods.base import causal_lm

            enable_checkpointing(causal_lm(model), use_reentrant=False)
        model.train()
        loss = SparseLMLoss(model, self.method)
        self.batching, self.batching_reason = self._choose_batching(loss)
        if self.sharded:  # before the optimizer: sharding replaces the parameters
            model.to(self.acc.device)
            sharding.shard(loss, model)
        groups = self.method.parameter_groups(
            model, lr=self.cfg.lr, weight_decay=self.cfg.weight_decay
        )
        optimizer = self.method.make_optimizer(groups, lr=self.cfg.lr)
        self.scheduler = get_scheduler(
            self.cfg.scheduler,
            optimizer,
            num_warmup_steps=math.ceil(self.cfg.warmup_ratio * self.total_steps),
            num_training_steps=self.total_steps,
        )
        if self.sharded:  # already wrapped; accelerate would add DDP on top
            self.loss_module, self.optimizer = loss, optimizer
        else:
            self.loss_module, self.optimizer = self.acc.prepare(loss, optimizer)
        self.acc.register_for_checkpointing(self.scheduler)
        self.acc.register_save_state_pre_hook(self._save_trainable_hook)
        self.acc.register_load_state_pre_hook(self._load_trainable_hook)
        self.params = [p for group in groups for p in group["params"]]

    def _choose_batching(self, loss: SparseLMLoss) -> tuple[str, str | None]:
        """``shared-prefix`` or ``packed`` (see :mod:`peftctl.training.packing`) where the
        method and model allow it and a check on a few examples agrees, else ``padded`` and
        the reason."""
        model = self._model
        reason = packing.packing_obstacle(model, self.method)
        if reason is None:
            with self.acc.autocast():
                reason = packing.packing_mismatch(
                    loss, self.train_data, self.pad_id, self.acc.device
                )
        if reason is not None:
            return "padded", reason
        return ("packed" if packing.has_dropout(model) else "shared-prefix"), None

    def _micro_batch(self, data: TokenData, indices: list[int]) -> tuple[dict, int, int]:
        """Loss-module inputs of the chosen examples (on the device), their tokens and
        their loss tokens."""
        if self.batching == "padded":
            padded = collate(data, indices, self.pad_id, self._pad_multiple)
            loss_tokens = int((padded["labels"][:, 1:] != IGNORE_INDEX).sum())
            tokens = int(padded["attention_mask"].sum())
            return {k: v.to(self.acc.device) for k, v in padded.items()}, tokens, loss_tokens
        packed = packing.pack(
            data,
            indices,
            self.pad_id,
            share_prefix=self.batching == "shared-prefix",
            multiple=self._pad_multiple,
            eager=packing.is_eager(self._model),
        )
        loss_tokens = int((packed.targets != IGNORE_INDEX).sum())
        return packed.inputs(self.acc.device), packed.tokens, loss_tokens

    def _attention(self) -> contextlib.AbstractContextManager:
        if self.batching == "padded":
            return contextlib.nullcontext()
        return packing.packed_attention(self._model)

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Mixed precision for a module accelerate did not prepare (fsdp)."""
        return self.acc.autocast() if self.sharded else contextlib.nullcontext()

    def _whole_trainable(self) -> contextlib.AbstractContextManager:
        """Around saving the adapter: under fsdp every process gathers the whole adapter."""
        if self.sharded:
            return sharding.whole_trainable(self.loss_module)
        return contextlib.nullcontext()

    def _sync_gradients(self, sync: bool) -> contextlib.AbstractContextManager:
        """Reduce gradients only on the last micro-batch of a step."""
        if self.sharded:
            self.loss_module.set_requires_gradient_sync(sync)
            return contextlib.nullcontext()
        return contextlib.nullcontext() if sync else self.acc.no_sync(self.loss_module)

    def _save_trainable_hook(self, models: list, weights: list, folder: str) -> None:
        weights.clear()  # accelerate would save the whole base model; keep only what trains
        if self.acc.is_main_process and not self.sharded:  # fsdp: sharding.save_sharded
            ckpt.save_trainable(self.method.state_dict(self._model), Path(folder))

    def _load_trainable_hook(self, models: list, folder: str) -> None:
        models.clear()
        if not self.sharded:
            self.method.load_state_dict(self._model, ckpt.load_trainable(Path(folder)))

    # -- the loop ----------------------------------------------------------------------
    def fit(self, *, resume_from: Path | None = None) -> TrainResult:
        """Train to ``total_steps`` (or early stop), from scratch or from a checkpoint."""
        if resume_from is not None:
            self._resume(resume_from)
        log = RunLog(
            self.output_dir / "log.jsonl" if self.acc.is_main_process else None,
            self.state.log,
            sink=self._track if self.cfg.report_to != "none" else None,
        )
        self.state.log = log.records
        quiet = self.quiet or not self.acc.is_main_process
        if self.batching_reason and not quiet:
            print(f"batching: padded, not packed: {self.batching_reason}")
        progress = Progress(self.total_steps, self.state.step, quiet=quiet)
        last_loss = None
        try:
            at_start = self.eval_cfg.at_start and self.cfg.eval_every and self.state.step == 0
            if at_start and self.eval_data is not None:
                self._eval_and_keep_best(log, progress)
            while self.state.step < self.total_steps and not self.state.stopped_early:
                started = time.perf_counter()
                loss, tokens, grad_norm = self._train_step()
                self.state.step += 1
                step = self.state.step
                elapsed = time.perf_counter() - started
                self.state.train_seconds += elapsed
                self.state.tokens += tokens
                last_loss = loss
                lr = self.scheduler.get_last_lr()[0]
                tps = self.state.tokens / max(self.state.train_seconds, 1e-9)
                if step % self.cfg.log_every == 0 or step == self.total_steps:
                    log.add(_train_record(step, self, loss, lr, grad_norm, tokens / elapsed))
                progress.update(step, loss, lr, tps)
                if self.cfg.eval_every and step % self.cfg.eval_every == 0:
                    self._eval_and_keep_best(log, progress)
                if self.cfg.save_every and step % self.cfg.save_every == 0:
                    self.save_checkpoint()
            if self.eval_data is not None and self.state.last_eval_step != self.state.step:
                self._eval_and_keep_best(log, progress)
        finally:
            progress.close()
            log.flush()
        adapter_step = self._write_adapter()
        return TrainResult(
            steps=self.state.step,
            total_steps=self.total_steps,
            tokens=self.state.tokens,
            train_seconds=self.state.train_seconds,
            tokens_per_second=self.state.tokens / max(self.state.train_seconds, 1e-9),
            final_train_loss=last_loss,
            final_eval_loss=self.state.last_eval_loss,
            best_eval_loss=self.state.best_eval_loss,
            best_step=self.state.best_step,
            adapter_step=adapter_step,
            stopped_early=self.state.stopped_early,
            batching=self.batching,
            batching_reason=self.batching_reason,
        )

    def _track(self, record: dict[str, Any]) -> None:
        """Send a log record's numbers to the accelerate trackers (``train.report_to``)."""
        values = {k: v for k, v in record.items() if k != "step" and isinstance(v, (int, float))}
        self.acc.log(values, step=record["step"])

    def _train_step(self) -> tuple[float, int, float | None]:
        """One optimiser step over this process's micro-batches; returns global figures."""
        batches = [self._micro_batch(self.train_data, idx) for idx in self._my_micro_batches()]
        per_process = self._loss_tokens_per_process(sum(n for _, _, n in batches))
        totals = torch.zeros(3, dtype=torch.float64)
        for i, (inputs, tokens, _) in enumerate(batches):
            last = i == len(batches) - 1
            with self._sync_gradients(last), self._autocast(), self._attention():
                loss_sum, n_tokens = self.loss_module(**inputs)
                objective = loss_sum / per_process
                if last and (penalty := self.method.regularization(self._model)) is not None:
                    objective = objective + penalty  # once per step, in the synced backward
                self.acc.backward(objective)
            totals += torch.tensor([loss_sum.item(), n_tokens.item(), tokens], dtype=torch.float64)
        totals = self.acc.reduce(totals.to(self.acc.device), "sum").cpu()
        loss = float(totals[0] / max(totals[1], 1))
        if not math.isfinite(loss):
            self._diverged(loss)
        grad_norm = None
        if self.cfg.max_grad_norm > 0:
            grad_norm = self._clip_gradients()
        self.optimizer.step()
        self.scheduler.step()
        self.method.on_step(self._model, self.state.step + 1)
        self.optimizer.zero_grad(set_to_none=True)
        return loss, int(totals[2]), grad_norm

    def _loss_tokens_per_process(self, local: int) -> float:
        """The step's loss tokens over all processes / their number: dividing each process's
        summed loss by it makes the gradients' mean over processes (what DDP and FSDP reduce)
        the gradient of the step's token mean, as one process would compute it."""
        if self.acc.num_processes == 1:
            return max(local, 1)
        total = self.acc.reduce(torch.tensor([float(local)], device=self.acc.device), "sum")
        return max(float(total.item()), 1.0) / self.acc.num_processes

    def _clip_gradients(self) -> float:
        """Clip to ``train.max_grad_norm``; the norm over the whole adapter."""
        if not self.sharded:
            return float(self.acc.clip_grad_norm_(self.params, self.cfg.max_grad_norm))
        norm = torch.nn.utils.clip_grad_norm_(self.params, self.cfg.max_grad_norm)
        return float(norm.full_tensor() if hasattr(norm, "full_tensor") else norm)

    def _my_micro_batches(self) -> list[list[int]]:
        """This process's ``grad_accum`` micro-batches of the current step."""
        epoch, index = divmod(self.state.step, self.steps_per_epoch)
        if self._plan[0] != epoch:
            self._plan = (
                epoch,
                epoch_batches(
                    self._lengths,
                    self.cfg.batch_size,
                    seed=self.seed,
                    epoch=epoch,
                    group_by_length=self.cfg.group_by_length,
                ),
            )
        plan = self._plan[1]
        per_process, world = self.cfg.grad_accum, self.acc.num_processes
        start = (index * world + self.acc.process_index) * per_process
        return plan[start : start + per_process]

    def _diverged(self, loss: float) -> None:
        latest = ckpt.latest_checkpoint(self.checkpoints)
        kept = f"the last good checkpoint is {latest}" if latest else "no checkpoint was saved"
        raise TrainingDiverged(
            f"training loss became {loss} at step {self.state.step + 1}; {kept}; lower train.lr, "
            "raise train.warmup_ratio or use train.precision=fp32, then resume with --resume"
        )

    # -- evaluation --------------------------------------------------------------------
    @torch.no_grad()
    def evaluate(self) -> float:
        """Mean token loss on the eval split (shared across processes)."""
        assert self.eval_data is not None
        module = self.acc.unwrap_model(self.loss_module)
        module.eval()
        totals = torch.zeros(2, dtype=torch.float64)
        batches = sorted_batches(self.eval_data.lengths(), self.eval_cfg.batch_size)
        mine = batches[self.acc.process_index :: self.acc.num_processes]
        rounds = -(-len(batches) // self.acc.num_processes) if self.sharded else len(mine)
        for i in range(rounds):  # fsdp: every process runs as many forwards (all-gathers)
            idx = mine[i] if i < len(mine) else batches[0]
            inputs, _, _ = self._micro_batch(self.eval_data, idx)
            with self.acc.autocast(), self._attention():
                loss_sum, n_tokens = module(**inputs)
            if i < len(mine):
                totals += torch.tensor([loss_sum.item(), n_tokens.item()], dtype=torch.float64)
        module.train()
        totals = self.acc.reduce(totals.to(self.acc.device), "sum").cpu()
        return float(totals[0] / max(totals[1], 1))

    def _eval_and_keep_best(self, log: RunLog, progress: Progress) -> None:
        loss = self.evaluate()
        state = self.state
        state.last_eval_loss, state.last_eval_step = loss, state.step
        improved = state.best_eval_loss is None or loss < state.best_eval_loss
        if improved:
            state.best_eval_loss, state.best_step, state.bad_evals = loss, state.step, 0
            with self._whole_trainable():
                if self.acc.is_main_process:
                    self.method.save(self._model, self.checkpoints / "best")
        else:
            state.bad_evals += 1
            patience = self.cfg.early_stopping_patience
            if patience and state.bad_evals >= patience:
                state.stopped_early = True
                progress.note(
                    f"early stopping at step {state.step}: no better eval loss in {patience} evals"
                )
        log.add({"step": state.step, "eval_loss": loss, "best_eval_loss": state.best_eval_loss})
        progress.note(f"step {state.step}: eval loss {loss:.4f} (best {state.best_eval_loss:.4f})")
        log.flush()
        self.acc.wait_for_everyone()

    # -- checkpoints and outputs -------------------------------------------------------
    def save_checkpoint(self) -> Path:
        """Save a resumable checkpoint of the current step (all processes call this)."""
        final = ckpt.step_dir(self.checkpoints, self.state.step)
        tmp = self.checkpoints / f".{final.name}.tmp"
        advice = "the previous checkpoint is intact; free space, then run again with --resume"
        try:
            with disk_errors(f"checkpoint {final}", advice):
                self._save_into(tmp)
        except PeftctlError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        if self.acc.is_main_process:
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            ckpt.prune(self.checkpoints, self.cfg.keep_checkpoints)
        self.acc.wait_for_everyone()
        return final

    def _save_into(self, tmp: Path) -> None:
        """accelerate's state plus the trainer's into the (fresh) folder ``tmp``."""
        if self.acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
        self.acc.wait_for_everyone()
        self.acc.save_state(str(tmp))
        if self.sharded:
            sharding.save_sharded(tmp, self.loss_module, self.optimizer)
        self.acc.wait_for_everyone()
        if self.acc.is_main_process:
            ckpt.write_state(tmp, self._state_dict())

    def _state_dict(self) -> dict[str, Any]:
        return dict(vars(self.state))

    def _resume(self, folder: Path) -> None:
        advice = f"delete {folder} to resume from the checkpoint before it"
        with damaged_files(folder, advice):
            saved = ckpt.read_state(folder)
            self._check_strategy(folder)
            self.acc.load_state(str(folder))
            if self.sharded:
                sharding.load_sharded(folder, self.loss_module, self.optimizer)
        self.state = TrainState(**saved)
        finished = (self.output_dir / RUN_CARD).is_file()
        if self.state.step >= self.total_steps and finished:  # else: killed before the end
            raise PeftctlError(
                f"checkpoint {folder} is at step {self.state.step}, the run ends at step "
                f"{self.total_steps}; raise train.max_steps or train.epochs to train further"
            )

    def _check_strategy(self, folder: Path) -> None:
        sharded = (folder / sharding.SHARDED_DIR).is_dir()
        if sharded != self.sharded:
            saved, now = ("fsdp", "ddp or none") if sharded else ("ddp or none", "fsdp")
            raise PeftctlError(
                f"checkpoint {folder} was saved with train.distributed={saved}, this run uses "
                f"{now}; resume with the strategy it was saved with"
            )

    def _write_adapter(self) -> int:
        """Write ``adapter/``: the best-eval weights when asked and known, else the last."""
        adapter = self.output_dir / ADAPTER
        best = self.checkpoints / "best"
        use_best = self.eval_cfg.load_best and self.state.best_step is not None and best.is_dir()
        with self._whole_trainable():
            if self.acc.is_main_process:
                self._save_adapter(adapter, best if use_best else None)
        self.acc.wait_for_everyone()
        return self.state.best_step if use_best else self.state.step

    def _save_adapter(self, adapter: Path, best: Path | None) -> None:
        advice = "the checkpoints are intact; free space, then run again with --resume"
        with disk_errors(f"the adapter {adapter}", advice):
            if best is not None:
                write_dir_atomically(
                    adapter, lambda tmp: shutil.copytree(best, tmp, dirs_exist_ok=True)
                )
            else:
                self.method.save(self._model, adapter)


def _train_record(
    step: int, trainer: Trainer, loss: float, lr: float, grad_norm, tps: float
) -> dict:
    return {
        "step": step,
        "epoch": round(step / trainer.steps_per_epoch, 4),
        "loss": loss,
        "lr": lr,
        "grad_norm": grad_norm,
        "tokens_per_s": round(tps, 1),
        "tokens": trainer.state.tokens,
        "elapsed_s": round(trainer.state.train_seconds, 3),
    }
