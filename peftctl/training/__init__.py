"""The training worker: batching, loss, the accelerate loop, checkpoints and run outputs.

Imported only by ``peftctl train`` (heavy: torch, transformers, accelerate, peft).
"""
