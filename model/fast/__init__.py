"""Speed-ups beside the textbook network: each does what a class of `model.nn` does, faster.

A learner can skip this package: `model.nn` alone trains and serves the same network. Every
speed-up here is tested against the textbook path it replaces (tests/model/fast/).
"""
