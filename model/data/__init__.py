"""Data: MNIST files and their download, augmentation, digit styles, pen re-draw, morphology,
UNIPEN pen strokes, and strokes drawn as the page's canvas draws them."""
