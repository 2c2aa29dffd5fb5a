"""A run's peft adapter as a standalone adapter directory: its files, with
``adapter_config.json`` naming the base model that loads it and set for inference."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from peftctl.export.plan import ExportPlan, read_adapter_config


def export_peft_dir(plan: ExportPlan, base_model: str) -> int:
    """Copy ``plan.adapter_dir`` to ``plan.output`` atomically, pointing
    ``base_model_name_or_path`` at ``base_model``; returns the number of files written."""
    from peftctl.methods.base import write_dir_atomically

    config = read_adapter_config(plan.adapter_dir) or {}
    config.update(base_model_name_or_path=base_model, inference_mode=True)
    files = [f for f in sorted(plan.adapter_dir.iterdir()) if f.is_file()]

    def write(folder: Path) -> None:
        for source in files:
            shutil.copy2(source, folder / source.name)
        text = json.dumps(config, indent=2, sort_keys=True) + "\n"
        (folder / "adapter_config.json").write_text(text, encoding="utf-8")

    write_dir_atomically(plan.output, write)
    return len(files)
