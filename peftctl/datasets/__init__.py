"""Built-in benchmark datasets and the machinery that turns rows into prompts."""
