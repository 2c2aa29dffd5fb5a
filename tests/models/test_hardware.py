"""Hardware probes and the precision rule, with torch's capability probes patched both ways."""

from __future__ import annotations

import pytest
import torch

from peftctl import hardware
from peftctl.errors import PeftctlError


def patch_cpu(monkeypatch, *, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)


def patch_cuda(monkeypatch, *, bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: bf16)


def test_cpu_capabilities_report_the_probes(monkeypatch):
    patch_cpu(monkeypatch, amx=True, avx512_bf16=False)
    capabilities = hardware.cpu_capabilities()
    assert capabilities["amx"] is True
    assert capabilities["avx512_bf16"] is False
    assert isinstance(capabilities["cpu_model"], str) and capabilities["cpu_model"]


def test_missing_private_probes_mean_no_fast_bf16(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported", raising=False)
    capabilities = hardware.cpu_capabilities()
    assert (capabilities["amx"], capabilities["avx512_bf16"]) == (False, False)
    assert hardware.choose_precision("auto", "cpu") == "fp32"


def test_cpu_model_name_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: AMD EPYC 7B13 64-Core Processor\n")
    assert hardware._cpu_model_name(cpuinfo) == "AMD EPYC 7B13 64-Core Processor"
    assert hardware._cpu_model_name(tmp_path / "absent")  # falls back to platform, never empty


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "expected"),
    [(True, True, "bf16"), (True, False, "bf16"), (False, True, "bf16"), (False, False, "fp32")],
)
def test_auto_on_cpu_uses_bf16_only_where_it_is_fast(monkeypatch, amx, avx512_bf16, expected):
    patch_cpu(monkeypatch, amx=amx, avx512_bf16=avx512_bf16)
    assert hardware.choose_precision("auto", "cpu") == expected


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp32")])
def test_auto_on_cuda_follows_bf16_support(monkeypatch, bf16, expected):
    patch_cuda(monkeypatch, bf16=bf16)
    assert hardware.choose_precision("auto", "cuda") == expected


def test_auto_on_other_devices_is_fp32():
    assert hardware.choose_precision("auto", "mps") == "fp32"


@pytest.mark.parametrize("fast", [True, False])
def test_fp32_is_always_honoured(monkeypatch, fast):
    patch_cpu(monkeypatch, amx=fast, avx512_bf16=fast)
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


def test_explicit_bf16_on_slow_cpu_is_allowed_with_a_warning(monkeypatch):
    patch_cpu(monkeypatch, amx=False, avx512_bf16=False)
    assert hardware.choose_precision("bf16", "cpu") == "bf16"
    warning = hardware.precision_warning("bf16", "cpu")
    assert warning is not None and "slower than fp32" in warning and "\n" not in warning


def test_no_warning_where_bf16_is_fast_or_unused(monkeypatch):
    patch_cpu(monkeypatch, amx=True, avx512_bf16=True)
    assert hardware.precision_warning("bf16", "cpu") is None
    patch_cpu(monkeypatch, amx=False, avx512_bf16=False)
    assert hardware.precision_warning("fp32", "cpu") is None


def test_unknown_precision_suggests_the_closest():
    with pytest.raises(PeftctlError, match=r"did you mean 'bf16'"):
        hardware.choose_precision("bf61", "cpu")
