"""Soft prompts on the input: prompt tuning, P-tuning, multitask prompt tuning."""
