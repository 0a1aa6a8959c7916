"""Data: MNIST files and their download, augmentation, digit styles, pen re-draw, morphology."""
