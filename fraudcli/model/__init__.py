"""Our own logistic regression, its scaler, the one-record scorer, and evaluation metrics."""
