"""A fully connected neural network for MNIST, written from scratch in NumPy.

Reading order (README.md, "Reading the code", gives one line per module):

1. `model.nn`: the network from scratch, a textbook chapter. initializers, activations,
   layers, losses, optimizers, then mlp, which stacks them. Every class shows `forward` and
   `backward` side by side. It imports NumPy and nothing else.
2. `model.training`: config, dataset, checkpoint, train: how the network learns MNIST.
3. `model.serving`: preprocess (a drawing -> the 28x28 MNIST input), predictor, explain.
4. `model.data`: MNIST files, download, augmentation, digit styles, pen re-draw, morphology;
   UNIPEN pen strokes (real writers) and the canvas that draws them as the page does.
5. `model.evaluation`: metrics, robustness, calibration, held-out writers.
6. `model.files`: the weight file and checkpoint formats.
7. `model.fast`: speed-ups of `model.nn` used by training and serving, each tested against
   the textbook path. A learner can skip it.

Nothing here imports the web side (`app/`); the app, the CLI and the benchmarks build on it.
"""
