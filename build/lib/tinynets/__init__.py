"""tinynets: the small PyTorch networks beginners meet first, as one reproducible DVC pipeline."""
