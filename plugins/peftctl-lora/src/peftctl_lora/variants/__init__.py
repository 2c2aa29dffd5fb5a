"""LoRA variants: DoRA, LoRA+ and PiSSA (``config`` light, ``method`` peft-backed)."""
