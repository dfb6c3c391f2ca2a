"""Recurrent language models: embedding, recurrent layers, output layer, softmax loss.

Data flow (batch-major)::

    ids (N, T) -> Embedding -> (N, T, D) -> [Dropout -> TimeRNN/TimeLSTM] x L -> Dropout
               -> Affine (or TiedAffine) -> logits (N, T, V) -> SoftmaxCrossEntropy -> loss

Dropout sits on the non-recurrent connections only (between layers, as in Zaremba et al., 2014),
never on the state carried from one time step to the next.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_ids, check_positive_int
from ..backend import array_module
from ..layers import Affine, Dropout, Embedding, SoftmaxCrossEntropy, TiedAffine, collect
from ..seeds import init_rng
from ..gru import TimeGRU
from ..lstm import TimeLSTM
from ..rnn import TimeRNN

__all__ = ["RECURRENT_LAYERS", "recurrent_layer", "LanguageModel", "RNNLM", "LSTMLM"]


#: The recurrent layers a model can be built with, by cell name.
RECURRENT_LAYERS = {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}


def recurrent_layer(cell: str):
    """The time layer class of ``cell`` (``"rnn"``, ``"lstm"`` or ``"gru"``), or a clear ``ValueError``."""
    if cell not in RECURRENT_LAYERS:
        raise ValueError(f"cell must be 'rnn', 'lstm' or 'gru', got {cell!r}")
    return RECURRENT_LAYERS[cell]


class LanguageModel:
    """A recurrent language model that predicts the next token at every position.

    Parameters
    ----------
    vocab_size, embed_size, hidden_size:
        ``V``, ``D`` and ``H``.
    cell:
        ``"rnn"``, ``"lstm"`` or ``"gru"``: the recurrent layer.
    num_layers:
        How many recurrent layers are stacked.
    dropout:
        Dropout probability after the embedding and after every recurrent
        layer (0 disables it). Active only in ``forward(..., train=True)``.
    tie_weights:
        Share the embedding matrix with the output layer (needs ``embed_size == hidden_size``).
    stateful:
        Carry the recurrent state from one ``forward`` call to the next
        (truncated BPTT); call :meth:`reset_state` to forget it.
    rng, dtype:
        Seed/generator for initialisation and dropout, and the parameter dtype.
    """

    has_train_mode = True          # forward(..., train=False) evaluates without dropout (the layer contract)

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, cell: str = "lstm",
                 num_layers: int = 1, dropout: float = 0.0, tie_weights: bool = False, stateful: bool = False,
                 rng=None, dtype=np.float32):
        check_positive_int("num_layers", num_layers)
        if tie_weights and embed_size != hidden_size:
            raise ValueError(f"tie_weights needs embed_size == hidden_size (the output layer reuses the "
                             f"(V, D) embedding matrix), got embed_size={embed_size}, hidden_size={hidden_size}")
        Recurrent = recurrent_layer(cell)
        rng = init_rng(rng)
        self.config = dict(vocab_size=int(vocab_size), embed_size=int(embed_size), hidden_size=int(hidden_size),
                           cell=cell, num_layers=int(num_layers), dropout=float(dropout),
                           tie_weights=bool(tie_weights), stateful=bool(stateful), dtype=np.dtype(dtype).name)
        self.vocab_size = int(vocab_size)
        self.rng = rng                     # shared by initialisation and dropout (saved when resuming training)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        # stacked LSTM layers share one dict of backward scratch arrays: they run backward one after the other
        shared = {"scratch": {}} if Recurrent is TimeLSTM else {}
        self.recurrent = [Recurrent(embed_size if k == 0 else hidden_size, hidden_size, stateful=stateful,
                                    rng=rng, dtype=dtype, **shared) for k in range(num_layers)]
        self.out = TiedAffine(self.embed) if tie_weights else Affine(hidden_size, vocab_size, rng=rng, dtype=dtype)
        self.dropouts = [Dropout(dropout, rng=rng) for _ in range(num_layers + 1)]
        self.loss_layer = SoftmaxCrossEntropy()
        self.layers = [self.embed, *self.recurrent, self.out]
        self.params, self.grads = collect(*self.layers)

    @classmethod
    def from_config(cls, config: dict):
        """A new model (freshly initialised) built from ``config``, the dict of a model's ``config`` attribute:
        the constructor's arguments, with the dtype by name. :func:`rnnbook.checkpoint.load_model` rebuilds
        a saved model with it."""
        config = dict(config)
        dtype = np.dtype(config.pop("dtype", "float32"))
        V, D, H = config.pop("vocab_size"), config.pop("embed_size"), config.pop("hidden_size")
        return cls(V, D, H, dtype=dtype, **config)

    def num_params(self) -> int:
        """The number of trainable numbers (a tied matrix counts once)."""
        return int(sum(p.size for p in self.params))

    def predict(self, ids: np.ndarray, train: bool = False) -> np.ndarray:
        """Logits ``(N, T, V)`` for the next token after every position of ``ids`` ``(N, T)``."""
        ids = check_ids("ids", ids, self.vocab_size, ndim=2)
        x = self.dropouts[0].forward(self.embed.forward(ids), train)
        for layer, drop in zip(self.recurrent, self.dropouts[1:]):
            x = drop.forward(layer.forward(x), train)
        return self.out.forward(x)

    def forward(self, ids: np.ndarray, targets: np.ndarray, train: bool = True) -> float:
        """Mean cross-entropy of predicting ``targets`` ``(N, T)`` from ``ids`` ``(N, T)``.

        ``train=True`` (the default) applies dropout; evaluate with ``train=False``.
        """
        return self.loss_layer.forward(self.predict(ids, train), targets)

    def backward(self) -> None:
        """Fill ``grads`` with the gradient of the last ``forward`` loss."""
        d = self.out.backward(self.loss_layer.backward())
        for layer, drop in zip(reversed(self.recurrent), reversed(self.dropouts[1:])):
            d = layer.backward(drop.backward(d))
        self.embed.backward(self.dropouts[0].backward(d))
        if isinstance(self.out, TiedAffine):
            self.out.add_to_embedding()

    def reset_state(self) -> None:
        """Forget the carried recurrent state of every layer."""
        for layer in self.recurrent:
            layer.reset_state()

    def carried_state(self) -> list[dict]:
        """The state carried to the next ``forward`` call: per layer ``{"h": ..., "c": ...}`` (copies)."""
        return [{k: getattr(layer, k).copy() for k in ("h", "c") if getattr(layer, k, None) is not None}
                for layer in self.recurrent]

    def set_carried_state(self, states: list[dict]) -> None:
        """Restore a state returned by :meth:`carried_state` (used when resuming training)."""
        if len(states) != len(self.recurrent):
            raise ValueError(f"states has {len(states)} layers, the model has {len(self.recurrent)}")
        for layer, st in zip(self.recurrent, states):
            layer.reset_state()
            for k, v in st.items():
                setattr(layer, k, array_module(layer.params[0]).asarray(v, dtype=layer.params[0].dtype))


class RNNLM(LanguageModel):
    """The one-layer vanilla-RNN language model of chapters 1 and 2.

    ``RNNLM(V, D, H)`` is ``LanguageModel(V, D, H, cell="rnn")``; its recurrent
    layer is also available as ``model.rnn``.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, stateful: bool = False,
                 rng=None, dtype=np.float32):
        super().__init__(vocab_size, embed_size, hidden_size, cell="rnn", stateful=stateful, rng=rng, dtype=dtype)
        self.rnn = self.recurrent[0]

    @classmethod
    def from_config(cls, config: dict):
        """A new ``RNNLM`` from a ``config`` (the other entries are the fixed ones of this model)."""
        return cls(config["vocab_size"], config["embed_size"], config["hidden_size"], stateful=config["stateful"],
                   dtype=np.dtype(config.get("dtype", "float32")))


class LSTMLM(LanguageModel):
    """The LSTM language model of chapter 4: ``LanguageModel`` with ``cell="lstm"``."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, **kwargs):
        kwargs.setdefault("cell", "lstm")
        if kwargs["cell"] != "lstm":
            raise ValueError("LSTMLM is the LSTM model; use LanguageModel(cell=...) for other cells")
        super().__init__(vocab_size, embed_size, hidden_size, **kwargs)
