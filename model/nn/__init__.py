"""The network from scratch: initializers, activations, layers, losses, optimizers, mlp.

Read in that order. Imports NumPy, typing helpers and itself, nothing else (tested).
"""
