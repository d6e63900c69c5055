"""evalharness: config-driven machine-translation evaluation on top of sacrebleu."""

__version__ = "0.1.0"
