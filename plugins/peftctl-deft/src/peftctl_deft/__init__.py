"""Deft for peftctl. ``plugin`` registers it (no torch there); ``method`` implements it."""

__version__ = "0.1.0"
