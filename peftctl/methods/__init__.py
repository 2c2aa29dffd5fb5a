"""Built-in PEFT methods, one module per method family."""
