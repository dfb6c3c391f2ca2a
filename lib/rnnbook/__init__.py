"""rnnbook: recurrent neural networks from scratch, in NumPy.

The companion library of the book. Each module holds one idea of one chapter:

=====================  ====================================================
module                 idea
=====================  ====================================================
:mod:`.functions`      sigmoid, softmax, cross-entropy, perplexity (ch. 1)
:mod:`.layers`         Affine, Embedding, SoftmaxCrossEntropy, Dropout (ch. 1)
:mod:`.rnn`            the vanilla RNN cell and ``TimeRNN`` (ch. 1-2)
:mod:`.gradcheck`      numerical gradients and relative errors (ch. 2)
:mod:`.optim`          SGD, Adam, gradient clipping (ch. 2)
``rnnbook.models``      complete models such as ``RNNLM``
``rnnbook.data``        vocabularies, corpora and generated datasets
:mod:`.viz`            plots shared by several chapters
:mod:`.grading`        the exercise grader (``python -m rnnbook.grade``)
=====================  ====================================================
"""
__version__ = "0.1.0"

from . import functions, gradcheck, layers, optim, rnn, viz  # noqa: F401
from .layers import Affine, Dropout, Embedding, SoftmaxCrossEntropy  # noqa: F401
from .rnn import TimeRNN  # noqa: F401
