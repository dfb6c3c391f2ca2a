"""Data: vocabularies, corpora and generated datasets, all available offline."""
from .vocab import Vocab

__all__ = ["Vocab"]
