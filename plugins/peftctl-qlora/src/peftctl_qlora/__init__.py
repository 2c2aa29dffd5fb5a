"""QLoRA for peftctl: LoRA adapters on a base model whose linear layers are 4-bit (bitsandbytes).

``plugin`` registers the method (no heavy imports), ``config`` holds its options,
``quantize`` swaps linear layers for 4-bit ones and ``method`` is the implementation.
"""

__version__ = "0.2.0"
