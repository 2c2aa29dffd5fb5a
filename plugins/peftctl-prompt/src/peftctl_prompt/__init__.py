"""Prompt learning for peftctl: soft prompts on the input (``prompt``) and key/value
prefixes in every layer (``prefix``), on the shared base in ``prompt_learning``."""
