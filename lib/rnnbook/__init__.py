"""rnnbook: recurrent neural networks from scratch, in NumPy.

The companion library of the book. Each module holds one idea of one chapter:

=================================  ===================================================================
module                             idea
=================================  ===================================================================
:mod:`.functions`                  sigmoid, softmax, log-softmax, cross-entropy, perplexity (ch. 1)
:mod:`.layers`                     Affine, TiedAffine, Embedding, SoftmaxCrossEntropy, Dropout, and
                                   **the layer contract** every layer follows (ch. 1)
:mod:`.rnn`                        the vanilla RNN cell and ``TimeRNN`` (ch. 1-2)
:mod:`.gradcheck`                  numerical gradients and relative errors (ch. 2)
:mod:`.optim`                      SGD, Adam, global-norm gradient clipping (ch. 2)
:mod:`.train`                      the training core (``train_step``, ``fit``, ``TrainState``);
                                   truncated-BPTT batches, ``train_lm``, perplexity, sampling (ch. 2);
                                   ``fit_seq2seq`` (ch. 5) and ``fit_captioner`` (ch. 6)
:mod:`.brackets`                   closing brackets and quotes by distance: a model's memory (ch. 2-3)
:mod:`.lstm`                       the LSTM cell and ``TimeLSTM`` (ch. 3)
:mod:`.gru`                        the GRU cell and ``TimeGRU`` (ch. 3)
:mod:`.experiments`                seeded long-range memory experiments (ch. 3)
:mod:`.lm_ops`                     a language model's non-recurrent steps as plain functions (ch. 4)
:mod:`.generate`                   greedy decoding, sampling, temperature and top-k for LMs (ch. 4)
:mod:`.checkpoint`                 saving and loading models and training states (ch. 4)
``rnnbook.models``                 the complete models, from the three modules below (ch. 1-6)
:mod:`.models.lm`                  language models: ``LanguageModel``, ``RNNLM``, ``LSTMLM`` (ch. 1-4)
:mod:`.models.seq2seq`             encoder-decoders: plain, peeky, attention (ch. 5)
:mod:`.attention`                  dot-product attention (ch. 5)
:mod:`.bidirectional`              a bidirectional LSTM encoder, an option of attention (ch. 5)
:mod:`.decode`                     greedy decoding and beam search for encoder-decoders (ch. 5)
:mod:`.conv`                       im2col convolution and max-pooling (ch. 6)
:mod:`.models.captioner`           image captioning: CNN encoder, bridge, annotations (ch. 6)
:mod:`.bleu`                       BLEU and exact match (ch. 6)
:mod:`.autograd`                   a minimal reverse-mode autodiff engine (appendix)
``rnnbook.data``                   vocabularies, corpora and generated datasets (:mod:`.data.vocab`,
                                   :mod:`.data.corpora`, :mod:`.data.memory`, :mod:`.data.number_agreement`,
                                   :mod:`.data.agreement`,
                                   :mod:`.data.addition`, :mod:`.data.dates`, :mod:`.data.pairs`,
                                   :mod:`.data.tatoeba`, :mod:`.data.captions`)
:mod:`.recipes`                    longer, logged training runs that chapters 4-6 quote
                                   (:mod:`.recipes.ch04_lm`, :mod:`.recipes.ch04_char`, :mod:`.recipes.ch05_seq2seq`,
                                   :mod:`.recipes.ch05_translate`, :mod:`.recipes.ch06_captioning`)
:mod:`.viz`                        plots shared by several chapters
:mod:`.backend`                    NumPy or CuPy: ``rnnbook.use_gpu()`` (ch. 4's models on a GPU)
:mod:`.grading`                    the exercise grader (:mod:`.grading.core`; ``python -m rnnbook.grade``,
                                   :mod:`.grade`): the trusted session ``rnnbook.grading.session``, the
                                   learner's process ``rnnbook.grading.worker`` and what crosses between
                                   them ``rnnbook.grading.wire``, the sandbox ``rnnbook.grading.sandbox``,
                                   source checks ``rnnbook.grading.source``, batch mode
                                   ``rnnbook.grading.batch``, Gradescope ``rnnbook.grading.gradescope``;
                                   where specs and references are found ``rnnbook.grading.catalog``, the
                                   in-notebook check ``rnnbook.grading.notebook``, and the policy both
                                   paths share ``rnnbook.grading.policy``
``rnnbook.seeds``                  ``book_seed``: every seed the chapters use, shifted at once by
                                   ``RNNBOOK_SEED_OFFSET`` to measure the seed spread (all chapters);
                                   ``init_rng``, the generator of a layer's ``rng`` argument
``rnnbook.book``                   ``glue`` for the notebooks, also where myst-nb is missing (all chapters)
=================================  ===================================================================

``rnnbook._checks`` (argument checking, one helper per kind), ``rnnbook._timemajor`` (the matrix
products the time layers share) and ``rnnbook._lstm_engine`` (the fast LSTM loops behind ``TimeLSTM``,
pinned bit for bit to the step functions of :mod:`.lstm`) are internal.
"""
__version__ = "0.1.0"

from . import backend, checkpoint, functions, gradcheck, gru, layers, lstm, optim, rnn, seeds, train, viz  # noqa: F401
from .backend import use_cpu, use_gpu  # noqa: F401
from .layers import Affine, Dropout, Embedding, SoftmaxCrossEntropy  # noqa: F401
from .rnn import TimeRNN  # noqa: F401
from .seeds import book_rng, book_seed  # noqa: F401

__all__ = ["backend", "checkpoint", "functions", "gradcheck", "gru", "layers", "lstm", "optim", "rnn", "seeds",
           "train", "viz", "book_seed", "book_rng", "use_cpu", "use_gpu", "Affine", "Dropout", "Embedding",
           "SoftmaxCrossEntropy", "TimeRNN"]
