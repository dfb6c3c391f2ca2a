"""Image captioning: a small CNN encoder and the LSTM decoder of chapter 5 (chapter 6).

The model (after Vinyals et al., 2015, "Show and Tell")::

    images (N, C, H, W) --CNNEncoder--> features (N, F) --InitState--> h (N, H)
    h = tanh(features @ W + b) is the decoder's initial hidden state;
    the decoder (rnnbook.models.seq2seq.Decoder) then writes the caption word by word.

With ``conditioning="peeky"`` the decoder is chapter 5's
:class:`~rnnbook.models.seq2seq.PeekyDecoder`: ``h`` also initialises the LSTM
and is, in addition, concatenated to the input of every step and to the input of
the output layer, so the image is in view at every word.

With ``conditioning="attention"`` (after Xu et al., 2015, "Show, Attend and Tell")
the decoder is chapter 5's :class:`~rnnbook.models.seq2seq.AttentionDecoder`,
reading a weighted average of **annotation vectors**, one per location of the
encoder's last feature map::

    features (N, C*h*w) -> grid (N, S=h*w, C) -> a = tanh(grid @ Wp + P) (N, S, H)
    hs_enc = [a_1 .. a_S, h]  (N, S+1, H): the S locations, then the image state h

``P`` ``(S, H)`` is a learned vector per location (a position embedding: the
convolutions alone do not know where they are). The LSTM starts from ``h``
(the last entry) and at every word attends over all ``S + 1`` entries
(:func:`annotations_forward`, :class:`Annotations`).

Captions are id arrays ``(N, L)`` starting with ``<start>``
(:func:`rnnbook.data.captions.encode_captions`); the decoder reads ``ids[:, :-1]``
and is trained to predict ``ids[:, 1:]`` with the masked loss
(:func:`masked_cross_entropy`: positions whose target is ``<pad>`` count for
nothing). Decoding uses the generic :mod:`rnnbook.decode` through ``start_state``
and ``step``, exactly as in chapter 5.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_array, check_id, check_ids, check_positive_int, check_same_dtype, saved_by_forward
from ..conv import Conv2D, Flatten, MaxPool2D, ReLU
from ..data.captions import END_ID, START_ID
from ..lm_ops import softmax_cross_entropy
from ..layers import SoftmaxCrossEntropy, collect
from ..seeds import init_rng
from .seq2seq import AttentionDecoder, Decoder, Decoding, PeekyDecoder

__all__ = ["init_state_forward", "init_state_backward", "annotations_forward", "annotations_backward",
           "masked_cross_entropy", "CNNEncoder", "InitState", "Annotations", "Captioner",
           "caption_images"]

CONDITIONINGS = ("init", "peeky", "attention")


# ----------------------------------------------------------------------------------------------- plain functions
def init_state_forward(features, W, b):
    """The decoder's initial hidden state from image features: ``h0 = tanh(features @ W + b)``.

    Parameters
    ----------
    features : array ``(N, F)``
    W : array ``(F, H)``
    b : array ``(H,)``

    Returns
    -------
    h0 : array ``(N, H)``, each entry in ``(-1, 1)`` like every LSTM hidden state.
    """
    features = check_array("features", features, ndim=2, kind="float")
    W = check_array("W", W, shape=((features.shape[1], "F, the feature size of features"), None), kind="float")
    b = check_array("b", b, shape=((W.shape[1], "H = W.shape[1]"),), kind="float")
    return np.tanh(features @ W + b)


def init_state_backward(dh0, features, W, b):
    """Backward pass of :func:`init_state_forward`.

    Parameters
    ----------
    dh0 : array ``(N, H)``
        Gradient of the loss with respect to ``h0`` (the decoder's ``dh0``).
    features, W, b :
        The forward pass's arguments.

    Returns
    -------
    dfeatures, dW, db : arrays shaped like ``features``, ``W`` and ``b``.
    """
    h0 = init_state_forward(features, W, b)
    dh0 = check_array("dh0", dh0, shape=((h0.shape[0], "N from features"), (h0.shape[1], "H from W")),
                      kind="float")
    return _init_state_grads(dh0, features, h0, W)


def _init_state_grads(dh0, features, h0, W):
    """``(dfeatures, dW, db)`` from the forward's input and output (shared by the function and the layer)."""
    da = dh0 * (1 - h0 ** 2)
    return da @ W.T, features.T @ da, da.sum(axis=0)


def _check_annotation_args(features, Wp, P):
    Wp = check_array("Wp", Wp, ndim=2, kind="float")
    P = check_array("P", P, shape=(None, (Wp.shape[1], "H = Wp.shape[1]")), kind="float")
    C, S = Wp.shape[0], P.shape[0]
    features = check_array("features", features, shape=(None, (C * S, "C * S = Wp.shape[0] * P.shape[0]")),
                           kind="float")
    return features, Wp, P


def annotations_forward(features, Wp, P):
    """One annotation vector per location of the encoder's last feature map:
    ``a[n, s] = tanh(grid[n, s] @ Wp + P[s])``.

    The flat features of :class:`CNNEncoder` are in the order (channel, row, column), so
    ``features.reshape(N, C, S)`` puts the ``C`` channels of location ``s`` (row-major over the ``h x w``
    map) in column ``s``; ``grid`` is its transpose ``(N, S, C)``. The same ``Wp`` applies at every location
    (like a 1x1 convolution); ``P[s]`` is a learned vector of location ``s``, which tells the decoder
    *where* the location is.

    Parameters
    ----------
    features : array ``(N, C * S)``
        Flattened feature maps ``(N, C, h, w)``, ``S = h * w``.
    Wp : array ``(C, H)``
    P : array ``(S, H)``

    Returns
    -------
    a : array ``(N, S, H)``, each entry in ``(-1, 1)``.
    """
    features, Wp, P = _check_annotation_args(features, Wp, P)
    return np.tanh(_grid(features, Wp.shape[0], P.shape[0]) @ Wp + P)


def _grid(features, C: int, S: int):
    """The flat features ``(N, C * S)`` as one row of ``C`` channels per location: ``(N, S, C)``."""
    return features.reshape(features.shape[0], C, S).transpose(0, 2, 1)


def annotations_backward(da, features, Wp, P):
    """Backward pass of :func:`annotations_forward`.

    Parameters
    ----------
    da : array ``(N, S, H)``
        Gradient of the loss with respect to the annotations.
    features, Wp, P :
        The forward pass's arguments.

    Returns
    -------
    dfeatures : array ``(N, C * S)``, in the flat order of ``features``.
    dWp : array ``(C, H)``, summed over the batch and the locations.
    dP : array ``(S, H)``, summed over the batch.
    """
    a = annotations_forward(features, Wp, P)
    da = check_array("da", da, shape=a.shape, kind="float")
    return _annotations_grads(da, _grid(features, Wp.shape[0], P.shape[0]), a, Wp)


def _annotations_grads(da, grid, a, Wp):
    """``(dfeatures, dWp, dP)`` from the forward's grid ``(N, S, C)`` and output (shared with the layer)."""
    N, S, C = grid.shape
    dz = da * (1 - a ** 2)                                     # (N, S, H)
    dWp = grid.reshape(N * S, C).T @ dz.reshape(N * S, -1)
    dgrid = dz @ Wp.T                                          # (N, S, C)
    return dgrid.transpose(0, 2, 1).reshape(N, C * S), dWp, dz.sum(axis=0)


def masked_cross_entropy(logits, targets, pad_id: int = 0):
    """Mean cross-entropy over the positions whose target is not ``pad_id``, and its gradient.

    Parameters
    ----------
    logits : array ``(N, T, V)``
    targets : int array ``(N, T)``
    pad_id : int
        The padding id; those positions contribute neither to the loss nor to the count.

    Returns
    -------
    loss : float
        ``sum over unmasked (n, t) of -log softmax(logits[n, t])[targets[n, t]]``, divided by the number of
        unmasked positions.
    dlogits : array ``(N, T, V)``
        ``(softmax(logits) - onehot(targets)) / count`` at unmasked positions, 0 at padded ones.
    """
    return softmax_cross_entropy(logits, targets, ignore_index=pad_id)


# -------------------------------------------------------------------------------------------------------- layers
class CNNEncoder:
    """A small convolutional network: ``len(channels)`` blocks of conv 3x3 (same size) -> ReLU -> max-pool 2x2,
    then flatten.

    Parameters
    ----------
    image_shape : tuple ``(C, H, W)``
        Shape of one image; ``H`` and ``W`` must be divisible by ``2 ** len(channels)``.
    channels : tuple of int
        Number of filters of each block.
    rng, dtype :
        Initialisation and parameter dtype.

    Attributes
    ----------
    feature_size : int
        ``channels[-1] * (H / 2**B) * (W / 2**B)``, the length of the feature vector of one image.
    grid_shape : tuple ``(channels[-1], H / 2**B, W / 2**B)``
        The shape of the last feature map, before flattening (one location per pixel of it).
    layers : list of the layers, in order.
    """

    def __init__(self, image_shape, channels=(8, 16), *, rng=None, dtype=np.float32):
        if not (isinstance(image_shape, tuple) and len(image_shape) == 3):
            raise ValueError(f"image_shape must be a tuple (C, H, W), got {image_shape!r}")
        C, H, W = (check_positive_int(f"image_shape[{k}]", s) for k, s in enumerate(image_shape))
        channels = tuple(check_positive_int("channels entry", c) for c in channels)
        if not channels:
            raise ValueError("channels must name at least one convolutional block")
        scale = 2 ** len(channels)
        if H % scale or W % scale:
            raise ValueError(f"image height and width must be divisible by 2**len(channels) = {scale}, "
                             f"got {H} x {W}")
        rng = init_rng(rng)
        self.image_shape = (C, H, W)
        self.layers = []
        c_in = C
        for c in channels:
            # the first layer's input is the images, which need no gradient
            first = not self.layers
            self.layers += [Conv2D(c_in, c, 3, pad=1, input_grad=not first, rng=rng, dtype=dtype), ReLU(),
                            MaxPool2D(2)]
            c_in = c
        self.layers.append(Flatten())
        self.grid_shape = (c_in, H // scale, W // scale)
        self.feature_size = c_in * (H // scale) * (W // scale)
        self.params, self.grads = collect(*self.layers)
        self.dtype = np.dtype(dtype)

    def forward(self, images: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, feature_size)``."""
        images = check_array("images", images, shape=(None,) + tuple(
            (s, n) for s, n in zip(self.image_shape, ("channels C", "height H", "width W"))), kind="float")
        check_same_dtype("images", images, self.dtype)
        x = images
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dfeatures: np.ndarray) -> None:
        """Backpropagate ``(N, feature_size)`` through the layers and fill ``grads``. (Nothing is returned:
        the gradient with respect to the images is not needed, and the first layer skips it.)"""
        d = dfeatures
        for layer in reversed(self.layers):
            d = layer.backward(d)


def _layer_features(features, size: int, what: str, W):
    """A bridge layer's input checked against its weights: ``(N, size)``, floating, of ``W``'s dtype."""
    features = check_array("features", features, shape=(None, (size, what)), kind="float")
    check_same_dtype("features", features, W.dtype)
    return features


class InitState:
    """The bridge from image features to the decoder: ``h0 = tanh(features @ W + b)``
    (:func:`init_state_forward`), with ``params = [W (F, H), b (H,)]``."""

    def __init__(self, feature_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        F = check_positive_int("feature_size", feature_size)
        H = check_positive_int("hidden_size", hidden_size)
        rng = init_rng(rng)
        W = (rng.standard_normal((F, H)) / np.sqrt(F)).astype(dtype)
        self.params = [W, np.zeros(H, dtype=dtype)]
        self.grads = [np.zeros_like(W), np.zeros(H, dtype=dtype)]
        self._cache = None

    def forward(self, features: np.ndarray) -> np.ndarray:
        W, b = self.params
        features = _layer_features(features, W.shape[0], "feature size F", W)
        h0 = init_state_forward(features, W, b)
        self._cache = (features, h0)
        return h0

    def backward(self, dh0: np.ndarray) -> np.ndarray:
        features, h0 = saved_by_forward(self, self._cache)
        dfeatures, self.grads[0][...], self.grads[1][...] = _init_state_grads(dh0, features, h0, self.params[0])
        return dfeatures


class Annotations:
    """The attention memory of the image: :func:`annotations_forward` as a layer,
    ``(N, C * S) -> (N, S, H)``, with ``params = [Wp (C, H), P (S, H)]``.

    Parameters
    ----------
    channels : int
        ``C``, the channels of the encoder's last feature map.
    locations : int
        ``S = h * w``, its number of locations.
    hidden_size : int
        ``H``, the decoder's hidden size (attention compares annotations with decoder states).
    rng, dtype :
        Initialisation (``Wp`` scaled by ``1 / sqrt(C)``, ``P`` small and random) and parameter dtype.
    """

    def __init__(self, channels: int, locations: int, hidden_size: int, *, rng=None, dtype=np.float32):
        C = check_positive_int("channels", channels)
        S = check_positive_int("locations", locations)
        H = check_positive_int("hidden_size", hidden_size)
        rng = init_rng(rng)
        Wp = (rng.standard_normal((C, H)) / np.sqrt(C)).astype(dtype)
        P = (0.1 * rng.standard_normal((S, H))).astype(dtype)
        self.params = [Wp, P]
        self.grads = [np.zeros_like(Wp), np.zeros_like(P)]
        self._cache = None

    def forward(self, features: np.ndarray) -> np.ndarray:
        Wp, P = self.params
        features = _layer_features(features, Wp.shape[0] * P.shape[0], "C * S", Wp)
        a = annotations_forward(features, Wp, P)
        self._cache = (_grid(features, Wp.shape[0], P.shape[0]), a)
        return a

    def backward(self, da: np.ndarray) -> np.ndarray:
        """Fill ``grads`` and return the gradient with respect to the flat features ``(N, C * S)``."""
        grid, a = saved_by_forward(self, self._cache)
        dfeatures, self.grads[0][...], self.grads[1][...] = _annotations_grads(da, grid, a, self.params[0])
        return dfeatures


# -------------------------------------------------------------------------------------------------------- model
class Captioner(Decoding):
    """CNN encoder + ``tanh`` bridge + LSTM decoder, trained on teacher-forced captions with a masked loss.

    Parameters
    ----------
    vocab_size : int
        ``V``, including ``<pad>``, ``<start>``, ``<end>``.
    image_shape : tuple ``(C, H, W)``
    conditioning : ``"init"``, ``"peeky"`` or ``"attention"``
        ``"init"``: the image state ``h`` only initialises the LSTM (Show and Tell);
        ``"peeky"``: it also feeds every step and the output layer (chapter 5's peeky decoder);
        ``"attention"``: ``h`` initialises the LSTM, and every step attends over the annotation vectors of
        the ``S`` locations of the last feature map and ``h`` (:class:`Annotations`, chapter 5's
        :class:`~rnnbook.models.seq2seq.AttentionDecoder`; Show, Attend and Tell).
    channels : tuple of int
        Filters of the encoder's conv blocks (:class:`CNNEncoder`).
    embed_size, hidden_size : int
        ``D`` and ``H`` of the decoder.
    pad_id : int
        Target id ignored by the loss.
    encoder : CNNEncoder or None
        Use this (e.g. pretrained) encoder instead of a new one.
    train_encoder : bool
        If false, the encoder is frozen: its parameters are not in ``params`` and
        ``backward`` stops at the features (which is also cheaper).
    input_map : int array ``(V,)`` or None
        If given, the decoder reads the word ``input_map[w]`` wherever its input is the word ``w``, in
        training and in decoding; the targets are unchanged. Mapping several words to one id hides their
        difference from the decoder's input (chapter 6 hides the colour words this way), not from its output.
    rng, dtype :
        Initialisation and parameter dtype (float64 for gradient checks).

    Attributes
    ----------
    params, grads : lists, in the order encoder (if trained), bridge, annotations (with attention), decoder.
    annotations : Annotations or None
        The projection of the feature map into annotation vectors (``conditioning="attention"`` only).
    """

    def __init__(self, vocab_size: int, image_shape, *, conditioning: str = "init", channels=(8, 16),
                 embed_size: int = 16, hidden_size: int = 64, pad_id: int = 0, encoder: CNNEncoder | None = None,
                 train_encoder: bool = True, input_map=None, rng=None, dtype=np.float32):
        V = check_positive_int("vocab_size", vocab_size)
        if input_map is not None:
            input_map = check_ids("input_map", input_map, V, ndim=1)
            if input_map.shape != (V,):
                raise ValueError(f"input_map must have one entry per word, shape ({V},), got {input_map.shape}")
        self.input_map = input_map
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be 'init', 'peeky' or 'attention', got {conditioning!r}")
        check_id("pad_id", pad_id, -1, V)
        rng = init_rng(rng)
        if encoder is None:
            encoder = CNNEncoder(image_shape, channels, rng=rng, dtype=dtype)
        elif not isinstance(encoder, CNNEncoder):
            raise TypeError(f"encoder must be a CNNEncoder, got {type(encoder).__name__}")
        elif tuple(image_shape) != encoder.image_shape:
            raise ValueError(f"image_shape {tuple(image_shape)} differs from the encoder's {encoder.image_shape}")
        self.vocab_size, self.pad_id, self.conditioning = V, int(pad_id), conditioning
        self.encoder = encoder
        self.train_encoder = bool(train_encoder)
        self.bridge = InitState(encoder.feature_size, hidden_size, rng=rng, dtype=dtype)
        self.annotations = None
        if conditioning == "attention":
            C, h, w = encoder.grid_shape
            self.annotations = Annotations(C, h * w, hidden_size, rng=rng, dtype=dtype)
        dec_cls = {"init": Decoder, "peeky": PeekyDecoder, "attention": AttentionDecoder}[conditioning]
        self.decoder = dec_cls(V, embed_size, hidden_size, rng=rng, dtype=dtype)
        self.loss_layer = SoftmaxCrossEntropy(ignore_index=self.pad_id)
        trained = ([self.encoder] if self.train_encoder else []) + [self.bridge] + (
            [self.annotations] if self.annotations is not None else []) + [self.decoder]
        self.params, self.grads = collect(*trained)

    def _check(self, images, captions):
        images = check_array("images", images, ndim=4, kind="float")
        captions = check_ids("captions", captions, self.vocab_size, ndim=2)
        if captions.shape[0] != images.shape[0]:
            raise ValueError(f"images and captions must have the same batch size, got {images.shape[0]} and "
                             f"{captions.shape[0]}")
        if captions.shape[1] < 2:
            raise ValueError(f"captions must have at least 2 columns (<start> and one target), got shape "
                             f"{captions.shape}")
        return images, captions

    def encode(self, images: np.ndarray) -> np.ndarray:
        """The image state ``h`` ``(N, H)`` that initialises the decoder (for every conditioning)."""
        return self.bridge.forward(self.encoder.forward(images))

    def _condition(self, images):
        """What the decoder receives: ``h`` ``(N, H)``, or with attention ``hs_enc`` ``(N, S + 1, H)``
        (the annotation vectors of the ``S`` locations, then ``h``)."""
        features = self.encoder.forward(images)
        h = self.bridge.forward(features)
        if self.annotations is None:
            return h
        return np.concatenate([self.annotations.forward(features), h[:, None, :]], axis=1)

    def forward(self, images: np.ndarray, captions: np.ndarray) -> float:
        """Mean masked cross-entropy of predicting ``captions[:, 1:]`` from the images and ``captions[:, :-1]``."""
        images, captions = self._check(images, captions)
        logits = self.decoder.forward(self._inputs(captions[:, :-1]), self._condition(images))
        return self.loss_layer.forward(logits, captions[:, 1:])

    def _inputs(self, ids):
        """The word ids the decoder reads (``input_map`` applied, if any)."""
        return ids if self.input_map is None else self.input_map[ids]

    def step(self, tokens, state):
        """One decoding step: ``(tokens (B,), state) -> (log_probs (B, V), new state)``."""
        return self.decoder.step(self._inputs(tokens), state)

    def backward(self) -> None:
        """Fill ``grads`` (after :meth:`forward`)."""
        d = self.decoder.backward(self.loss_layer.backward())
        if self.annotations is None:
            dfeatures = self.bridge.backward(d)
        else:                      # d: (N, S + 1, H); the features feed both the annotations and h
            dfeatures = self.annotations.backward(d[:, :-1]) + self.bridge.backward(d[:, -1])
        if self.train_encoder:
            self.encoder.backward(dfeatures)

    def attention_weights(self, images: np.ndarray, captions: np.ndarray) -> np.ndarray:
        """The attention weights ``(N, T, S + 1)`` of the decoder reading ``captions[:, :-1]`` (``<start>``
        and the words, e.g. its own generated caption): entry ``[n, t, s]`` is the weight of location ``s``
        (row-major over the last feature map; the last entry is the image state ``h``) when the decoder
        chooses word ``t + 1``. Only for ``conditioning="attention"``."""
        if self.annotations is None:
            raise ValueError(f"attention_weights needs a model with conditioning='attention', this one has "
                             f"{self.conditioning!r}")
        images, captions = self._check(images, captions)
        self.decoder.forward(self._inputs(captions[:, :-1]), self._condition(images))
        return self.decoder.attention.weights.copy()

    def start_state(self, images: np.ndarray) -> tuple:
        """The decoder's initial state for a batch of images (the interface of :mod:`rnnbook.decode`)."""
        images = check_array("images", images, ndim=4, kind="float")
        return self.decoder.start_state(self._condition(images))



def caption_images(model: Captioner, images: np.ndarray, max_len: int, *, beam_width: int = 1,
                   start_id: int = START_ID, end_id: int = END_ID, batch_size: int = 500) -> np.ndarray:
    """Caption many images in batches: greedy for ``beam_width=1``, else beam search. Returns ids ``(N, max_len)``."""
    images = check_array("images", images, ndim=4, kind="float")
    beam_width = check_positive_int("beam_width", beam_width)
    dtype = model.params[-1].dtype
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = images[i:i + batch_size].astype(dtype, copy=False)
        if beam_width == 1:
            out.append(model.generate(x, start_id, max_len, end_id))
        else:
            out.append(model.beam_search(x, start_id, max_len, beam_width, end_id)[0])
    return np.concatenate(out, axis=0)
