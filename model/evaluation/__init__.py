"""Evaluation: accuracy and confusions, robustness under drawing-like changes, calibration,
held-out writers' digits drawn on the pad."""
