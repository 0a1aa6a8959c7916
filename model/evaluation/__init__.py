"""Evaluation: accuracy and confusions, robustness under drawing-like changes, calibration."""
