"""Every public entry point answers bad input with an error that names the argument and the shapes."""
import numpy as np
import pytest

from rnnbook import Affine, Dropout, Embedding, SoftmaxCrossEntropy, TimeRNN
from rnnbook.data import Vocab
from rnnbook.models import LanguageModel, RNNLM
from rnnbook.optim import SGD, Adam, clip_grad_norm
from rnnbook.rnn import rnn_forward, rnn_step_forward

f64 = np.float64
rng = np.random.default_rng(0)
X = rng.standard_normal((2, 3))
H0 = np.zeros((2, 4))
WX, WH, B = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), np.zeros(4)

CASES = [
    ("step: Wx transposed", lambda: rnn_step_forward(X, H0, WX.T, WH, B), ValueError,
     r"Wx must have shape \(3, \*\), got \(4, 3\): axis 0 \(input size D from x\) is 4, expected 3"),
    ("step: h_prev batch", lambda: rnn_step_forward(X, np.zeros((5, 4)), WX, WH, B), ValueError,
     r"h_prev must have shape .* axis 0 \(batch size N from x\) is 5, expected 2"),
    ("step: Wh not square", lambda: rnn_step_forward(X, H0, WX, np.zeros((4, 3)), B), ValueError,
     r"Wh must have shape \(4, 4\), got \(4, 3\)"),
    ("step: bias size", lambda: rnn_step_forward(X, H0, WX, WH, np.zeros(5)), ValueError,
     r"b must have shape \(4,\), got \(5,\)"),
    ("step: integer x", lambda: rnn_step_forward(np.ones((2, 3), dtype=int), H0, WX, WH, B), TypeError,
     "x must be a floating-point array, got dtype int64"),
    ("step: x is a string", lambda: rnn_step_forward("x", H0, WX, WH, B), TypeError,
     "x must be a NumPy array, got a str"),
    ("forward: xs rank 2", lambda: rnn_forward(X, H0, WX, WH, B), ValueError,
     r"xs must have 3 dimensions, got shape \(2, 3\)"),
    ("forward: no time steps", lambda: rnn_forward(np.zeros((2, 0, 3)), H0, WX, WH, B), ValueError,
     r"no time steps"),
    ("TimeRNN: wrong input size", lambda: TimeRNN(3, 4, dtype=f64).forward(np.zeros((2, 5, 7))), ValueError,
     r"xs must have shape \(\*, \*, 3\), got \(2, 5, 7\): axis 2 \(input size D\) is 7, expected 3"),
    ("TimeRNN: dtype mismatch", lambda: TimeRNN(3, 4).forward(np.zeros((2, 5, 3))), TypeError,
     "xs has dtype float64 but the layer's parameters are float32"),
    ("TimeRNN: backward first", lambda: TimeRNN(3, 4).backward(np.zeros((2, 5, 4))), RuntimeError,
     "backward called before forward"),
    ("TimeRNN: zero hidden size", lambda: TimeRNN(3, 0), ValueError, "hidden_size must be a positive integer"),
    ("Affine: wrong last axis", lambda: Affine(3, 2).forward(np.zeros((4, 5), np.float32)), ValueError,
     r"x must have shape \(\.\.\., 3\), got \(4, 5\)"),
    ("Embedding: id too large", lambda: Embedding(10, 4).forward(np.array([[1, 10]])), ValueError,
     r"ids contains token id\(s\) outside the vocabulary \[0, 10\): e.g. 10"),
    ("Embedding: negative id", lambda: Embedding(10, 4).forward(np.array([-2])), ValueError,
     r"outside the vocabulary"),
    ("Embedding: float ids", lambda: Embedding(10, 4).forward(np.array([1.0])), TypeError,
     "ids must be an integer array of token ids, got dtype float64"),
    ("Embedding: empty ids", lambda: Embedding(10, 4).forward(np.zeros((2, 0), dtype=int)), ValueError,
     r"ids is empty"),
    ("loss: target shape", lambda: SoftmaxCrossEntropy().forward(np.zeros((2, 3, 5)), np.zeros((3, 2), int)),
     ValueError, r"targets must have shape \(2, 3\)"),
    ("loss: target out of range", lambda: SoftmaxCrossEntropy().forward(np.zeros((2, 5)), np.array([0, 7])),
     ValueError, r"targets contains token id\(s\) outside the vocabulary \[0, 5\)"),
    ("loss: all padding", lambda: SoftmaxCrossEntropy().forward(np.zeros((2, 5)), np.array([-1, -1])),
     ValueError, "every target is ignore_index"),
    ("Dropout: p = 1", lambda: Dropout(1.0), ValueError, r"must be in \[0, 1\)"),
    ("RNNLM: 1-D ids", lambda: RNNLM(5, 2, 3).predict(np.array([1, 2])), ValueError,
     r"ids must have 2 dimensions"),
    ("RNNLM: id out of vocabulary", lambda: RNNLM(5, 2, 3).forward(np.array([[1, 9]]), np.array([[1, 2]])),
     ValueError, r"ids contains token id\(s\) outside the vocabulary \[0, 5\)"),
    ("Vocab: empty", lambda: Vocab([]), ValueError, "no tokens"),
    ("Vocab: unknown token", lambda: Vocab(["a", "b"]).encode(["c"]), KeyError, "'c' is not in the vocabulary"),
    ("Vocab: bad id", lambda: Vocab(["a", "b"]).decode([5]), ValueError, r"id 5 is outside the vocabulary \[0, 2\)"),
    ("SGD: negative lr", lambda: SGD(-1), ValueError, "learning rate must be positive"),
    ("Adam: lengths differ", lambda: Adam().update([np.zeros(2)], []), ValueError, "1 parameters but 0 gradients"),
    ("clip: NaN gradient", lambda: clip_grad_norm([np.array([np.nan, 1.0])], 1.0), FloatingPointError,
     "contain NaN or inf"),
    ("clip: bad max_norm", lambda: clip_grad_norm([np.ones(2)], 0.0), ValueError, "max_norm must be positive"),
    ("rng: wrong type", lambda: TimeRNN(3, 4, rng="seed"), TypeError, "rng must be a numpy Generator"),
    ("LanguageModel: unknown cell", lambda: LanguageModel(5, 2, 3, cell="transformer"), ValueError,
     "cell must be 'rnn', 'lstm' or 'gru', got 'transformer'"),
    ("LanguageModel: zero layers", lambda: LanguageModel(5, 2, 3, num_layers=0), ValueError,
     "num_layers must be a positive integer"),
    ("LanguageModel: targets shape",
     lambda: LanguageModel(5, 2, 3).forward(np.zeros((2, 3), int), np.zeros((2, 4), int)),
     ValueError, r"targets must have shape \(2, 3\)"),
]


@pytest.mark.parametrize("what,call,exc,msg", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_a_clear_error(what, call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()
