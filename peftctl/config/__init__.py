"""Typed recipe configuration (no torch): schema, YAML + overrides loader, resolved dump."""
