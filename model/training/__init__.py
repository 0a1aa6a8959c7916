"""Training: the one config, the data split, the loop, and its checkpoints."""
