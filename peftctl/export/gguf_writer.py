"""Write a GGUF file tensor by tensor: only one tensor's converted copy exists at a time, and
the file appears under its name only when complete (temp file + rename)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize

from peftctl.atomic import temp_file_beside

F32, F16, Q8_0 = GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.Q8_0
QUANT_TYPES = {"f32": F32, "f16": F16, "q8_0": Q8_0}


@dataclass(frozen=True)
class PendingTensor:
    """A tensor to write: its GGUF name, shape, storage type and how to get its float values."""

    name: str
    shape: tuple[int, ...]
    qtype: GGMLQuantizationType
    values: Callable[[], np.ndarray]

    @property
    def nbytes(self) -> int:
        block, size = GGML_QUANT_SIZES[self.qtype]
        return int(np.prod(self.shape[:-1], dtype=np.int64)) * self.shape[-1] // block * size


def storage_type(shape: Sequence[int], quant: str) -> GGMLQuantizationType:
    """How a tensor of ``shape`` is stored for ``--quant quant``, as llama.cpp's converter does:
    vectors (norms) stay f32; q8_0 rows that are not whole 32-value blocks fall back to f16."""
    if len(shape) < 2:
        return F32
    qtype = QUANT_TYPES[quant]
    block, _ = GGML_QUANT_SIZES[qtype]
    return qtype if shape[-1] % block == 0 else F16


def write_gguf(
    path: Path, arch: str, add_metadata: Callable[[GGUFWriter], None], tensors: list[PendingTensor]
) -> None:
    """Write ``tensors`` (in order) and the key/values ``add_metadata`` adds to ``path``."""
    fd, tmp = temp_file_beside(path)
    os.close(fd)
    writer = GGUFWriter(tmp, arch)
    try:
        add_metadata(writer)
        for tensor in tensors:
            writer.add_tensor_info(
                tensor.name, tensor.shape, np.dtype(np.float32), tensor.nbytes, tensor.qtype
            )
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for tensor in tensors:
            writer.write_tensor_data(_encode(tensor))
        writer.close()
        os.replace(tmp, path)
    except BaseException:
        writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise


def _encode(tensor: PendingTensor) -> np.ndarray:
    values = np.ascontiguousarray(tensor.values(), dtype=np.float32)
    if values.shape != tensor.shape:
        raise ValueError(f"tensor {tensor.name}: shape {values.shape}, planned {tensor.shape}")
    return quantize(values, tensor.qtype)
