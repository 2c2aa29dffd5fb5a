"""The training worker: batching, loss, the accelerate loop, checkpoints and run outputs.

Imported only by ``peftctl train`` (heavy: torch, transformers, accelerate, peft), except
``outputs`` and ``parent`` (the checks of ``method.init_from``), which import no torch.
"""
