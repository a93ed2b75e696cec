"""fraudcli: train, score, replay and watch a real-time card-fraud detector."""

__version__ = "0.1.0"
