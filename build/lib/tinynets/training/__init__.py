"""The train stage's machinery: the loop, the explicit backward, the optimizers, checkpoints, DDP, outputs.

One package, so that dvc.yaml lists it as one dependency of the train stage (a shorter dvc.lock,
which DVC rewrites after every stage).
"""
