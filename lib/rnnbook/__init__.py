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
:mod:`.train`          truncated-BPTT batches, training loop, sampling (ch. 2)
:mod:`.lstm`           the LSTM cell and ``TimeLSTM`` (ch. 3)
:mod:`.gru`            the GRU cell and ``TimeGRU`` (ch. 3)
:mod:`.experiments`    seeded long-range memory experiments (ch. 3)
``rnnbook.models``      language models and seq2seq models (ch. 1-5)
:mod:`.checkpoint`     saving and loading models (ch. 4)
:mod:`.attention`      dot-product attention (ch. 5)
:mod:`.decode`         greedy decoding and beam search (ch. 5)
:mod:`.autograd`       a minimal reverse-mode autodiff engine (appendix)
``rnnbook.data``        vocabularies, corpora and generated datasets
:mod:`.viz`            plots shared by several chapters
:mod:`.backend`        NumPy or CuPy: ``rnnbook.use_gpu()`` (ch. 4's models on a GPU)
:mod:`.grading`        the exercise grader (``python -m rnnbook.grade``)
=====================  ====================================================
"""
__version__ = "0.1.0"

from . import backend, checkpoint, functions, gradcheck, gru, layers, lstm, optim, rnn, train, viz  # noqa: F401
from .backend import use_cpu, use_gpu  # noqa: F401
from .layers import Affine, Dropout, Embedding, SoftmaxCrossEntropy  # noqa: F401
from .rnn import TimeRNN  # noqa: F401
