"""YAML experiment recipes: finding them by name, copying and validating them."""
