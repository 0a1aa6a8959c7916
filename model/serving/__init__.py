"""Serving: the MNIST recipe for drawings, the loaded predictor, and explanations."""
