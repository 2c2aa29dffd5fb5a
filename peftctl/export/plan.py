"""What to export, checked before any model loads: run, format, quantisation, output paths."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from peftctl.errors import PeftctlError

if TYPE_CHECKING:
    from peftctl.config.schema import RecipeConfig
    from peftctl.specs import MethodSpec

#: format -> what it writes (``peftctl export --help`` and docs/export.md list the same).
FORMATS = {
    "gguf": "merged model as one GGUF file for llama.cpp / Ollama (mergeable methods)",
    "gguf-lora": "the LoRA adapter alone as a llama.cpp adapter GGUF (`--lora`)",
    "peft": "the adapter directory, loadable with PeftModel.from_pretrained",
    "merged": "merged model as a Hugging Face safetensors directory (as `peftctl merge`)",
}
#: format -> the --quant values it takes; the first is the default.
QUANTS = {
    "gguf": ("f16", "f32", "q8_0"),
    "gguf-lora": ("f32", "f16"),
    "merged": ("f32", "f16"),
    "peft": (),
}
GGUF_INSTALL = "pip install 'peftctl[export]'"
MODELFILE = "Modelfile"


@dataclass(frozen=True)
class ExportPlan:
    """A checked export request; ``output`` is a file (GGUF formats) or a directory."""

    run_dir: Path
    adapter_dir: Path
    config: RecipeConfig
    spec: MethodSpec
    fmt: str
    quant: str | None
    output: Path
    overwrite: bool = False
    ollama: bool = False

    @property
    def modelfile(self) -> Path:
        return self.output.with_name(MODELFILE)


def plan_export(
    run_dir: str | Path,
    fmt: str,
    *,
    quant: str | None = None,
    output: str | Path | None = None,
    overwrite: bool = False,
    ollama: bool = False,
) -> ExportPlan:
    """Check an export request; raises :class:`PeftctlError` for anything a user can fix.
    Imports no torch."""
    from peftctl.export.merging import finished_adapter, load_run

    if fmt not in FORMATS:
        raise PeftctlError(f"--format must be one of {', '.join(FORMATS)}, not '{fmt}'")
    run, config, spec = load_run(run_dir)
    adapter = finished_adapter(run)
    applicable = applicable_formats(spec.mergeable, adapter)
    if fmt not in applicable:
        raise PeftctlError(_not_applicable(fmt, spec, adapter, applicable))
    quant = _check_quant(fmt, quant)
    if ollama and fmt != "gguf":
        raise PeftctlError("--ollama needs --format gguf (Ollama runs a whole-model GGUF)")
    if fmt.startswith("gguf") and not gguf_installed():
        raise PeftctlError(f"GGUF export needs the gguf package; run: {GGUF_INSTALL}")
    if fmt.startswith("gguf"):
        check_gguf_family(config.model.name, fmt, applicable)
    out = Path(output).expanduser() if output else default_output(run, fmt, quant)
    plan = ExportPlan(run, adapter, config, spec, fmt, quant, out, overwrite, ollama)
    _check_outputs(plan)
    return plan


def gguf_installed() -> bool:
    """True when the ``gguf`` package can be imported (checked without importing it)."""
    return importlib.util.find_spec("gguf") is not None


def check_gguf_family(model_name: str, fmt: str, applicable: list[str]) -> None:
    """Refuse, naming the formats that apply, a model of a family the GGUF formats do not
    write, when its ``config.json`` can be read without a download (the model's own checks
    come once its config loads, still before any weight)."""
    from peftctl.export.gguf_families import family_of

    model_type = configured_model_type(model_name)
    if model_type is not None:
        preferred = "peft" if fmt == "gguf-lora" else "merged"
        others = [name for name in applicable if not name.startswith("gguf")]
        family_of(model_type, sorted(others, key=lambda name: name != preferred))


def configured_model_type(model_name: str) -> str | None:
    """``model_type`` from the ``config.json`` of a local model directory or of a hub id in
    the Hugging Face cache; None when it is not at hand (or is the default model, a llama)."""
    from peftctl.facts.names import is_default_model

    if is_default_model(model_name):
        return None
    path = Path(model_name).expanduser() / "config.json"
    found = path if path.is_file() else _cached_hub_file(model_name, "config.json")
    try:
        data = json.loads(found.read_text(encoding="utf-8")) if found else None
    except (OSError, ValueError):
        return None  # loading the model names the problem
    return data.get("model_type") if isinstance(data, dict) else None


def _cached_hub_file(repo_id: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename)
    except ValueError:  # not a hub id
        return None
    return Path(found) if isinstance(found, str) else None


def applicable_formats(mergeable: bool, adapter_dir: Path) -> list[str]:
    """The formats a run with this method and adapter directory can be exported to."""
    peft_config = read_adapter_config(adapter_dir)
    formats = ["gguf", "merged"] if mergeable else []
    if peft_config is not None:
        formats.append("peft")
    if peft_config is not None and lora_problem(peft_config) is None:
        formats.append("gguf-lora")
    return [name for name in FORMATS if name in formats]


def read_adapter_config(adapter_dir: Path) -> dict | None:
    """``adapter_config.json`` of a peft adapter directory, None for other methods' adapters
    (none, or peftctl's own ``{"method": ...}`` config: no ``peft_type``)."""
    path = adapter_dir / "adapter_config.json"
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise PeftctlError(
            f"{path} is damaged or truncated ({type(error).__name__}); train the run again, "
            "or restore the file from a copy"
        ) from None
    return config if isinstance(config, dict) and "peft_type" in config else None


def lora_problem(peft_config: dict) -> str | None:
    """Why a peft adapter cannot be a llama.cpp LoRA adapter (plain LoRA only), or None."""
    if peft_config.get("peft_type") != "LORA":
        return f"its adapter is {peft_config.get('peft_type')}, not LoRA"
    if peft_config.get("use_dora"):
        return "DoRA's magnitude vectors have no llama.cpp adapter form"
    if peft_config.get("alpha_pattern"):
        return "per-module alpha (alpha_pattern) has no llama.cpp adapter form"
    if peft_config.get("modules_to_save"):
        return "it saves whole modules (modules_to_save) besides LoRA weights"
    if peft_config.get("bias", "none") != "none":
        return "it trains biases (bias != 'none')"
    if peft_config.get("use_rslora") and peft_config.get("rank_pattern"):
        return "rank-stabilised LoRA with per-module ranks has no single llama.cpp alpha"
    return None


def default_output(run: Path, fmt: str, quant: str | None) -> Path:
    """``RUN_DIR/export/<model|adapter>-<quant>.gguf``, or ``RUN_DIR/export/<fmt>/``."""
    folder = run / "export"
    if fmt == "gguf":
        return folder / f"model-{quant}.gguf"
    if fmt == "gguf-lora":
        return folder / f"adapter-{quant}.gguf"
    return folder / (fmt if fmt == "peft" else f"merged-{quant}")


def _not_applicable(fmt: str, spec: MethodSpec, adapter: Path, applicable: list[str]) -> str:
    peft_config = read_adapter_config(adapter)
    if fmt in ("gguf", "merged"):
        why = "its adapter is not a weight update, so it cannot be merged into the model"
    elif peft_config is None:
        why = "its adapter/ is not a peft adapter directory (no peft_type in adapter_config.json)"
    else:
        why = lora_problem(peft_config) or "its adapter is not a plain LoRA adapter"
    others = ", ".join(applicable) if applicable else "none"
    return (
        f"method '{spec.name}' ({spec.category}) cannot be exported as {fmt}: {why}; "
        f"formats that apply: {others}"
    )


def _check_quant(fmt: str, quant: str | None) -> str | None:
    choices = QUANTS[fmt]
    if quant is None:
        return choices[0] if choices else None
    if not choices:
        raise PeftctlError(f"--quant does not apply to --format {fmt} (the adapter is copied)")
    if quant not in choices:
        raise PeftctlError(
            f"--quant for --format {fmt} must be one of {', '.join(choices)}, not '{quant}'"
        )
    return quant


def _check_outputs(plan: ExportPlan) -> None:
    is_file = plan.fmt.startswith("gguf")
    out = plan.output
    if is_file and out.is_dir():
        raise PeftctlError(f"output {out} is a directory; pass a file name ending in .gguf")
    if not is_file and out.exists() and not out.is_dir():
        raise PeftctlError(f"output {out} is a file; pass a directory for --format {plan.fmt}")
    if not is_file and plan.run_dir.resolve().is_relative_to(out.resolve()):
        raise PeftctlError(f"output {out} holds the run {plan.run_dir}; choose another directory")
    targets = [out, plan.modelfile] if plan.ollama else [out]
    for target in targets:
        occupied = target.is_dir() and any(target.iterdir()) if not is_file else target.exists()
        if occupied and not plan.overwrite:
            raise PeftctlError(f"{target} exists; pass --overwrite to replace it or choose -o")
