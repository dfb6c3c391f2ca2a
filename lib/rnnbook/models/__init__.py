"""Complete models assembled from :mod:`rnnbook` layers."""
from .lm import RNNLM

__all__ = ["RNNLM"]
