"""Hardware probes and the precision rule, with torch's capability probes patched both ways."""

from __future__ import annotations

import json

import pytest
import torch

from peftctl import hardware, precision_probe
from peftctl.errors import PeftctlError


def patch_cpu(monkeypatch, *, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)


def patch_probe(monkeypatch, tmp_path, *, fp32_s: float, bf16_s: float) -> list[int]:
    """The precision probe measures ``fp32_s``/``bf16_s`` (cached under ``tmp_path``);
    returns a list that grows by one per measurement."""
    calls: list[int] = []

    def measure() -> tuple[float, float, bool]:
        calls.append(1)
        return fp32_s, bf16_s, True

    monkeypatch.setenv("PEFTCTL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(precision_probe, "measure", measure)
    return calls


def patch_cuda(monkeypatch, *, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)


def test_cpu_capabilities_report_the_probes(monkeypatch):
    patch_cpu(monkeypatch, amx=True, avx512_bf16=False)
    capabilities = hardware.cpu_capabilities()
    assert capabilities["amx"] is True
    assert capabilities["avx512_bf16"] is False
    assert isinstance(capabilities["cpu_model"], str) and capabilities["cpu_model"]


def test_cpu_model_name_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n")
    assert hardware._cpu_model_name(cpuinfo) == "AMD EPYC 7B13 64-Core Processor"
    assert hardware._cpu_model_name(tmp_path / "absent")  # falls back to platform, never empty


@pytest.mark.parametrize(
    ("fp32_s", "bf16_s", "expected"),
    [(1.0, 0.5, "bf16"), (1.0, 0.95, "fp32"), (1.0, 100.0, "fp32"), (1.0, 1 / 1.1, "bf16")],
)
def test_auto_on_cpu_uses_bf16_only_where_the_probe_measures_it_faster(
    monkeypatch, tmp_path, fp32_s, bf16_s, expected
):
    patch_cpu(monkeypatch, amx=True, avx512_bf16=True)  # flags alone decide nothing
    patch_probe(monkeypatch, tmp_path, fp32_s=fp32_s, bf16_s=bf16_s)
    assert hardware.choose_precision("auto", "cpu") == expected


def test_the_probe_runs_once_per_cpu_model_and_is_kept(monkeypatch, tmp_path):
    calls = patch_probe(monkeypatch, tmp_path, fp32_s=0.02, bf16_s=0.01)
    assert precision_probe.bf16_speedup("CPU A") == 2.0
    assert precision_probe.bf16_speedup("CPU A") == 2.0 and len(calls) == 1
    record = json.loads(precision_probe.cache_file("CPU A").read_text())
    assert record["cpu_model"] == "CPU A" and record["fp32_seconds"] == 0.02
    assert precision_probe.cache_file("CPU A").parent == tmp_path / "precision"
    precision_probe.bf16_speedup("CPU B")  # another CPU is measured anew
    assert len(calls) == 2


def test_the_probe_stops_early_when_bf16_is_emulated(monkeypatch):
    steps = iter([0.01, 0.5])  # fp32, then bf16 50x slower: no more steps are timed
    monkeypatch.setattr(precision_probe, "_step", lambda *a, **k: next(steps))
    assert precision_probe.measure() == (0.01, 0.5, True)


def test_a_probe_disturbed_by_other_work_is_used_but_not_kept(monkeypatch, tmp_path):
    steps = iter([0.01, 0.005] + [0.01, 0.005] + [0.03, 0.005] * 3 + [0.01, 0.005])
    monkeypatch.setattr(precision_probe, "_step", lambda *a, **k: next(steps))
    assert precision_probe.measure() == (0.01, 0.005, False)  # fp32's median 3x its best
    monkeypatch.setenv("PEFTCTL_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(precision_probe, "measure", lambda: (0.01, 0.005, False))
    assert precision_probe.bf16_speedup("CPU A") == 2.0
    assert not precision_probe.cache_file("CPU A").exists()


def test_the_real_probe_measures_both_precisions():
    fp32_s, bf16_s, _ = precision_probe.measure()
    assert 0 < fp32_s < 2 and 0 < bf16_s < 20


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_follows_bf16_support(monkeypatch, bf16, expected):
    patch_cuda(monkeypatch, bf16=bf16)
    assert hardware.choose_precision("auto", "cuda") == expected


def test_auto_on_other_devices_is_fp32():
    assert hardware.choose_precision("auto", "mps") == "fp32"


@pytest.mark.parametrize("bf16_s", [0.1, 10.0])
def test_fp32_is_always_honoured(monkeypatch, tmp_path, bf16_s):
    patch_probe(monkeypatch, tmp_path, fp32_s=1.0, bf16_s=bf16_s)
    assert hardware.choose_precision("fp32", "cpu") == "fp32"


def test_fp16_on_cpu_is_a_one_line_error():
    with pytest.raises(PeftctlError, match="fp16") as caught:
        hardware.choose_precision("fp16", "cpu")
    assert "\n" not in str(caught.value)


def test_fp16_on_cuda_is_allowed(monkeypatch):
    patch_cuda(monkeypatch, bf16=False)
    assert hardware.choose_precision("fp16", "cuda") == "fp16"


def test_bf16_on_gpu_without_bf16_is_an_error(monkeypatch):
    patch_cuda(monkeypatch, bf16=False)
    with pytest.raises(PeftctlError, match="no bf16 support"):
        hardware.choose_precision("bf16", "cuda")


def test_explicit_bf16_on_slow_cpu_is_allowed_with_a_warning(monkeypatch, tmp_path):
    patch_probe(monkeypatch, tmp_path, fp32_s=0.01, bf16_s=1.0)
    assert hardware.choose_precision("bf16", "cpu") == "bf16"
    warning = hardware.precision_warning("bf16", "cpu")
    assert warning is not None and "bf16 measured 0.01x the speed of fp32" in warning
    assert "\n" not in warning


def test_no_warning_where_bf16_is_fast_or_unused(monkeypatch, tmp_path):
    patch_probe(monkeypatch, tmp_path, fp32_s=0.02, bf16_s=0.01)
    assert hardware.precision_warning("bf16", "cpu") is None
    assert hardware.precision_warning("fp32", "cpu") is None


def test_unknown_precision_suggests_the_closest():
    with pytest.raises(PeftctlError, match=r"did you mean 'bf16'"):
        hardware.choose_precision("bf61", "cpu")
