"""albench: active-learning benchmark with training dynamics."""

__version__ = "0.1.0"
