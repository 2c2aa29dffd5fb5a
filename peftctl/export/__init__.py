"""``peftctl export``: a finished run as a GGUF model, a llama.cpp LoRA adapter, a peft adapter
directory or a merged Hugging Face model. :mod:`.plan` checks a request without torch; the
writers stream tensors one at a time."""
