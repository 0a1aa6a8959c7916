"""A fully connected neural network for MNIST, written from scratch in NumPy.

Nothing here imports the web side (`app/`); the app, the CLI and the benchmarks all
build on these modules.
"""
