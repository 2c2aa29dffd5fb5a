"""Llama-Adapter for peftctl: ``plugin`` registers it, ``config`` holds its options (light),
``method`` is the implementation (peft's adaption prompt, imported only when used)."""
