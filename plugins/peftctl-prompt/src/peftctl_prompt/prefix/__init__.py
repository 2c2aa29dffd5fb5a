"""Key/value prefixes in every layer: prefix tuning and P-tuning v2."""
