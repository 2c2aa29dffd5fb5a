"""A llama GGUF read back as a plain transformers model: the default model's conversion, here
on a tiny model written by peftctl's own GGUF exporter (f32: the round trip is exact)."""

from __future__ import annotations

import pytest
import torch
from gguf import GGUFType

from peftctl.export import gguf_arch
from peftctl.export.gguf_writer import write_gguf
from peftctl.export.model_gguf import pending_tensors
from peftctl.models.gguf_checkpoint import read_llama_gguf
from peftctl.testing import tiny_llama


def write_f32_gguf(model, path) -> None:
    def add_metadata(writer) -> None:
        writer.add_type(GGUFType.MODEL)
        gguf_arch.add_hparams(writer, model.config)

    write_gguf(path, "llama", add_metadata, pending_tensors(model, "f32"))


@pytest.mark.parametrize("tied", [False, True])
def test_a_llama_gguf_reads_back_as_the_same_model(tmp_path, tied):
    model = tiny_llama(seed=3, tie_word_embeddings=tied, rope_theta=5000.0)
    path = tmp_path / "tiny.gguf"
    write_f32_gguf(model, path)
    read = read_llama_gguf(path)
    for key in ("hidden_size", "num_attention_heads", "num_key_value_heads", "vocab_size"):
        assert getattr(read.config, key) == getattr(model.config, key)
    assert read.config.tie_word_embeddings == tied
    expected, got = model.state_dict(), read.state_dict()
    assert set(got) == set(expected)
    for name, tensor in expected.items():  # q/k rows back in HF's order, every name mapped
        torch.testing.assert_close(got[name], tensor, rtol=0, atol=0, msg=name)
    ids = torch.tensor([[5, 17, 42, 8, 99]])
    with torch.no_grad():  # rope_theta and the norms' epsilon came through too
        torch.testing.assert_close(read(ids).logits, model(ids).logits, rtol=1e-5, atol=1e-6)


def test_a_gguf_of_another_architecture_is_refused(tmp_path):
    from gguf import GGUFWriter

    path = tmp_path / "other.gguf"
    writer = GGUFWriter(str(path), "gpt2")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()
    with pytest.raises(ValueError, match="a 'gpt2' GGUF; only 'llama' files are read"):
        read_llama_gguf(path)
