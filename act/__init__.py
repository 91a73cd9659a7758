"""act: action-chunking (ACT) policies that operate computer UIs from pixels."""

__version__ = "0.1.0"
