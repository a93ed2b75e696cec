"""Our own logistic regression on binned features (bins, fit, C and refit, the serving scorer),
the plain linear one it replaced, calibration and evaluation metrics."""
