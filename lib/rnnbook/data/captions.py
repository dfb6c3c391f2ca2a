"""Two image-caption datasets generated offline, deterministically for a seed (chapter 6).

**Handwritten digits** (:func:`digit_captions`). Each image puts one to four of
scikit-learn's bundled 8x8 handwritten digits (``sklearn.datasets.load_digits``,
1,797 real scans, shipped inside the package) side by side on a strip of
``8 x 32`` pixels, starting at a random column; the caption names the digits
from left to right: ``"four one seven"``. The 1,797 scans are split once and
for all (by a fixed permutation) into a training pool and a test pool, so a test
image never contains a scan seen in training.

**Scenes of shapes** (:func:`shape_captions`). Small RGB images (``24 x 24`` by
default) with one to three non-overlapping shapes, each with a size (small,
large), a colour (red, green, blue, yellow) and a shape (circle, square,
triangle); the caption describes them from left to right with a tiny grammar::

    caption := object (" left of " object)*
    object  := "a " size " " colour " " shape

for example ``"a small red circle left of a large blue square"``. Some
colour-shape combinations (:data:`HELD_OUT`) never occur in the ``"train"`` and
``"seen"`` splits; every image of the ``"held_out"`` split contains at least one
of them, to test whether a model can describe a combination it never saw.

Both generators return a :class:`CaptionSet`: float32 images ``(N, C, H, W)`` in
``[0, 1]``, the caption strings, and the ground truth behind each caption.
Captions become id arrays with :func:`caption_vocab` and
:func:`encode_captions` (``<pad>`` = 0, ``<start>`` = 1, ``<end>`` = 2), and ids
become strings again with :func:`decode_captions`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from .._checks import check_positive_int, is_integer
from .vocab import END_ID, PAD_ID, START_ID, Vocab, check_vocab, decode_sequences

__all__ = ["PAD", "START", "END", "PAD_ID", "START_ID", "END_ID", "DIGIT_WORDS", "COLOURS", "SHAPES", "SIZES",
           "HELD_OUT", "CaptionSet", "digit_pools", "digit_captions", "shape_captions", "render_shape",
           "describe_scene", "caption_vocab", "encode_captions", "decode_captions", "parse_shape_caption",
           "attribute_accuracy"]

PAD, START, END = "<pad>", "<start>", "<end>"

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

#: RGB of each colour name (a random brightness factor in [0.75, 1] is applied per object).
COLOURS = {"red": (0.95, 0.15, 0.1), "green": (0.15, 0.8, 0.15), "blue": (0.2, 0.35, 1.0),
           "yellow": (0.95, 0.85, 0.1)}
SHAPES = ("circle", "square", "triangle")
#: Half-width in pixels of each size.
SIZES = {"small": 3.0, "large": 5.0}
#: Colour-shape combinations kept out of the training data: each colour but yellow and each shape once.
HELD_OUT = (("red", "triangle"), ("green", "circle"), ("blue", "square"))


@dataclass
class CaptionSet:
    """A generated caption dataset.

    Attributes
    ----------
    images : float32 array ``(N, C, H, W)`` in ``[0, 1]``.
    captions : list of N str.
    truth : list of N items: for digits a tuple of ints (left to right); for
        shapes a list of ``(size, colour, shape)`` triples (left to right).
    """

    images: np.ndarray
    captions: list
    truth: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.captions)

    def __getitem__(self, index) -> "CaptionSet":
        """A subset: ``data[:100]`` or ``data[[3, 5, 8]]``."""
        idx = np.arange(len(self))[index]
        idx = np.atleast_1d(idx)
        return CaptionSet(self.images[idx], [self.captions[i] for i in idx], [self.truth[i] for i in idx])


def _rng(seed) -> np.random.Generator:
    if is_integer(seed):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int, got {type(seed).__name__}")


# ------------------------------------------------------------------------------------------------ digits
_DIGITS = None


def digit_pools(test_fraction: float = 0.3) -> dict:
    """The scikit-learn digit scans split into disjoint pools.

    Returns ``{"train": (images (M, 8, 8) float32 in [0, 1], labels (M,)), "test": (...)}``. The split is a
    fixed permutation (seed 0), independent of the dataset seed.
    """
    global _DIGITS
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    if _DIGITS is None:
        from sklearn.datasets import load_digits      # bundled with scikit-learn: no download
        d = load_digits()
        _DIGITS = ((d.images / 16.0).astype(np.float32), d.target.astype(np.int64))
    images, labels = _DIGITS
    order = np.random.default_rng(0).permutation(len(labels))
    n_test = int(round(test_fraction * len(labels)))
    test, train = order[:n_test], order[n_test:]
    return {"train": (images[train], labels[train]), "test": (images[test], labels[test])}


def digit_captions(n: int, *, split: str = "train", seed: int = 0, max_digits: int = 4) -> CaptionSet:
    """Strips of 1 to ``max_digits`` handwritten digits captioned with their names.

    Parameters
    ----------
    n : int
        Number of images.
    split : ``"train"`` or ``"test"``
        Which pool of scans to draw from (the pools are disjoint, see :func:`digit_pools`).
    seed : int
        Seed of the number of digits, the scans and the horizontal offset.
    max_digits : int
        The strip is ``8 x (8 * max_digits)`` pixels.

    Returns
    -------
    CaptionSet with images ``(n, 1, 8, 8 * max_digits)`` and truth = tuples of digits.
    """
    n = check_positive_int("n", n)
    max_digits = check_positive_int("max_digits", max_digits)
    pools = digit_pools()
    if split not in pools:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    scans, labels = pools[split]
    rng = _rng(seed)
    W = 8 * max_digits
    images = np.zeros((n, 1, 8, W), dtype=np.float32)
    captions, truth = [], []
    for i in range(n):
        k = int(rng.integers(1, max_digits + 1))
        picks = rng.integers(0, len(labels), size=k)
        start = int(rng.integers(0, W - 8 * k + 1))
        for j, p in enumerate(picks):
            images[i, 0, :, start + 8 * j:start + 8 * j + 8] = scans[p]
        digits = tuple(int(labels[p]) for p in picks)
        truth.append(digits)
        captions.append(" ".join(DIGIT_WORDS[d] for d in digits))
    return CaptionSet(images, captions, truth)


# ------------------------------------------------------------------------------------------------ shapes
def render_shape(image: np.ndarray, shape: str, cx: float, cy: float, r: float, rgb) -> None:
    """Paint a filled ``shape`` of half-width ``r`` centred at ``(cx, cy)`` onto ``image`` ``(3, H, W)`` in place.

    Circle: radius ``r - 0.25``. Square: side ``1.6 r``. Triangle: pointing up, height and base ``2 r``.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")
    _, H, W = image.shape
    y = np.arange(H)[:, None] + 0.5
    x = np.arange(W)[None, :] + 0.5
    if shape == "circle":
        mask = (x - cx) ** 2 + (y - cy) ** 2 <= (r - 0.25) ** 2     # - 0.25: no single-pixel bumps
    elif shape == "square":
        mask = (np.abs(x - cx) <= 0.8 * r) & (np.abs(y - cy) <= 0.8 * r)
    else:
        top = cy - r
        mask = (y >= top) & (y <= cy + r) & (np.abs(x - cx) <= (y - top) / 2)
    image[:, mask] = np.asarray(rgb, dtype=image.dtype)[:, None]


def describe_scene(objects: Sequence[tuple]) -> str:
    """The caption of a list of ``(size, colour, shape)`` objects, already in left-to-right order."""
    return " left of ".join(f"a {size} {colour} {shape}" for size, colour, shape in objects)


def _place(rng, radii, size, tries=64):
    """Centres for objects of the given half-widths: inside the image, bounding boxes 1 pixel apart,
    centres at least 2 pixels apart horizontally (so "left of" is clear). ``None`` if it fails."""
    boxes = []
    for r in radii:
        cand = rng.uniform(r, size - r, size=(tries, 2))          # candidate centres, tested all at once
        ok = np.ones(tries, dtype=bool)
        for ox, oy, orr in boxes:
            dx, dy = np.abs(cand[:, 0] - ox), np.abs(cand[:, 1] - oy)
            ok &= ((dx >= r + orr + 1) | (dy >= r + orr + 1)) & (dx >= 2)
        if not ok.any():
            return None
        cx, cy = cand[int(np.argmax(ok))]
        boxes.append((float(cx), float(cy), r))
    return boxes


def shape_captions(n: int, *, split: str = "train", seed: int = 0, size: int = 24, max_objects: int = 3,
                   held_out: Iterable[tuple[str, str]] = HELD_OUT, noise: float = 0.03) -> CaptionSet:
    """Scenes of one to ``max_objects`` coloured shapes, captioned from left to right.

    Parameters
    ----------
    n : int
        Number of images.
    split : ``"train"``, ``"seen"`` or ``"held_out"``
        ``"train"`` and ``"seen"`` (a test set from the training distribution)
        use only the colour-shape combinations not in ``held_out``; every image
        of ``"held_out"`` contains at least one held-out combination (the other
        objects are drawn from all combinations). Use different seeds for
        different sets.
    seed : int
        Seed of everything random: counts, attributes, positions, brightness, noise.
    size : int
        Images are ``(3, size, size)``; at least 20.
    max_objects : int
        At most 3 (more do not fit on small images).
    held_out : list of (colour, shape)
        The combinations kept out of training.
    noise : float
        Standard deviation of Gaussian pixel noise (clipped to ``[0, 1]``).

    Returns
    -------
    CaptionSet with images ``(n, 3, size, size)`` and truth = lists of ``(size, colour, shape)``.
    """
    n = check_positive_int("n", n)
    size = check_positive_int("size", size)
    if size < 20:
        raise ValueError(f"size must be at least 20 pixels for the shapes to fit, got {size}")
    max_objects = check_positive_int("max_objects", max_objects)
    if max_objects > 3:
        raise ValueError(f"max_objects must be 1, 2 or 3, got {max_objects}")
    if split not in ("train", "seen", "held_out"):
        raise ValueError(f"split must be 'train', 'seen' or 'held_out', got {split!r}")
    held_out = [tuple(c) for c in held_out]
    for c in held_out:
        if len(c) != 2 or c[0] not in COLOURS or c[1] not in SHAPES:
            raise ValueError(f"held_out entries must be (colour, shape) with colour in {tuple(COLOURS)} and "
                             f"shape in {SHAPES}, got {c!r}")
    combos = [(c, s) for c in COLOURS for s in SHAPES]
    seen = [c for c in combos if c not in held_out]
    if split == "held_out" and not held_out:
        raise ValueError("split='held_out' needs at least one held-out combination")
    rng = _rng(seed)
    images = np.zeros((n, 3, size, size), dtype=np.float32)
    captions, truth = [], []
    sizes = list(SIZES)
    for i in range(n):
        k = int(rng.integers(1, max_objects + 1))
        pool = seen if split != "held_out" else combos
        objs = [pool[j] for j in rng.integers(0, len(pool), size=k)]
        if split == "held_out":
            objs[int(rng.integers(0, k))] = held_out[int(rng.integers(0, len(held_out)))]
        boxes = None
        while boxes is None:              # keep the number of objects; retry positions, then sizes
            sz = [sizes[j] for j in rng.integers(0, len(sizes), size=k)]
            for _ in range(100):
                boxes = _place(rng, [SIZES[s] for s in sz], size)
                if boxes is not None:
                    break
        scene = sorted(zip(boxes, sz, objs), key=lambda t: t[0][0])
        img = images[i]
        for (cx, cy, r), s, (colour, shape) in scene:
            rgb = np.array(COLOURS[colour]) * rng.uniform(0.75, 1.0)
            render_shape(img, shape, cx, cy, r, rgb)
        if noise:
            img += rng.normal(0.0, noise, size=img.shape).astype(np.float32)
            np.clip(img, 0.0, 1.0, out=img)
        objects = [(s, colour, shape) for _, s, (colour, shape) in scene]
        truth.append(objects)
        captions.append(describe_scene(objects))
    return CaptionSet(images, captions, truth)


# ------------------------------------------------------------------------------------------------ text
def caption_vocab(*caption_lists: Iterable[str]) -> Vocab:
    """A word vocabulary over the given captions: ids 0, 1, 2 are ``<pad>``, ``<start>``, ``<end>``, then the
    words in sorted order (so the vocabulary does not depend on the order of the captions)."""
    if not caption_lists:
        raise ValueError("caption_vocab needs at least one list of captions")
    words = set()
    for captions in caption_lists:
        if isinstance(captions, str):
            raise TypeError("caption_vocab takes lists of captions, got a single string")
        for c in captions:
            if not isinstance(c, str):
                raise TypeError(f"captions must be strings, got {type(c).__name__}")
            words.update(c.split())
    return Vocab(sorted(words), specials=[PAD, START, END])


def _check_vocab(vocab) -> None:
    check_vocab(vocab, [PAD, START, END], "caption_vocab")


def encode_captions(captions: Sequence[str], vocab: Vocab, max_len: int | None = None) -> np.ndarray:
    """Captions -> int64 ids ``(N, max_len + 2)``: ``<start>``, the words, ``<end>``, then ``<pad>``.

    ``max_len`` is the number of words (``None``: the longest caption). A decoder
    reads ``ids[:, :-1]`` and is trained to predict ``ids[:, 1:]``.
    """
    _check_vocab(vocab)
    if isinstance(captions, str):
        raise TypeError("captions must be a list of strings, got a single string")
    words = [c.split() for c in captions]
    if not words:
        raise ValueError("captions is empty: there is nothing to encode")
    longest = max(len(w) for w in words)
    max_len = longest if max_len is None else max_len
    if not is_integer(max_len) or max_len <= 0:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
    if longest > max_len:
        raise ValueError(f"max_len={max_len} is too short: the longest caption has {longest} words")
    ids = np.full((len(words), max_len + 2), PAD_ID, dtype=np.int64)
    ids[:, 0] = START_ID
    for k, w in enumerate(words):
        ids[k, 1:len(w) + 1] = vocab.encode(w)
        ids[k, len(w) + 1] = END_ID
    return ids


def decode_captions(ids, vocab: Vocab) -> list[str]:
    """Rows of ids -> caption strings: stop at ``<end>``, skip ``<pad>`` and ``<start>``."""
    _check_vocab(vocab)
    return decode_sequences(ids, vocab, " ", pad_id=PAD_ID, start_id=START_ID, end_id=END_ID)


# ------------------------------------------------------------------------------------------------ scoring
def parse_shape_caption(caption: str) -> list[tuple[str, str, str]] | None:
    """The objects ``[(size, colour, shape), ...]`` of a caption of the shapes grammar, or ``None`` if the
    caption does not follow the grammar."""
    if not isinstance(caption, str):
        raise TypeError(f"caption must be a string, got {type(caption).__name__}")
    words = caption.split()
    objects, k = [], 0
    while True:
        if len(words) < k + 4 or words[k] != "a" or words[k + 1] not in SIZES or words[k + 2] not in COLOURS \
                or words[k + 3] not in SHAPES:
            return None
        objects.append(tuple(words[k + 1:k + 4]))
        k += 4
        if k == len(words):
            return objects
        if words[k:k + 2] != ["left", "of"]:
            return None
        k += 2


def attribute_accuracy(predictions: Sequence[str], truth: Sequence[Sequence[tuple]],
                       only: Iterable[tuple[str, str]] | None = None) -> dict[str, float]:
    """Per-attribute accuracy of generated shape captions.

    The ``k``-th object of a prediction is compared with the ``k``-th true object
    (both are in left-to-right order). A prediction that does not parse, or has
    no ``k``-th object, gets that object wrong.

    Parameters
    ----------
    predictions : list of str
    truth : list of lists of ``(size, colour, shape)`` (``CaptionSet.truth``)
    only : optional list of (colour, shape)
        Score only the true objects with one of these combinations (e.g.
        :data:`HELD_OUT`); ``count`` and ``grammar`` still cover all images.

    Returns
    -------
    dict with ``grammar`` (fraction of predictions that parse), ``count`` (right
    number of objects), ``size``, ``colour``, ``shape``, ``colour+shape`` and
    ``object`` (all three right), the last five as fractions of scored objects,
    and ``objects`` (how many were scored).
    """
    if len(predictions) != len(truth):
        raise ValueError(f"predictions and truth must have the same length, got {len(predictions)} and "
                         f"{len(truth)}")
    if not predictions:
        raise ValueError("predictions is empty: there is nothing to score")
    only = None if only is None else {tuple(c) for c in only}
    keys = ("size", "colour", "shape", "colour+shape", "object")
    hits = dict.fromkeys(keys, 0)
    scored = parsed = count_ok = 0
    for pred, objs in zip(predictions, truth):
        p = parse_shape_caption(pred)
        parsed += p is not None
        count_ok += p is not None and len(p) == len(objs)
        for k, (size, colour, shape) in enumerate(objs):
            if only is not None and (colour, shape) not in only:
                continue
            scored += 1
            if p is None or k >= len(p):
                continue
            ps, pc, psh = p[k]
            hits["size"] += ps == size
            hits["colour"] += pc == colour
            hits["shape"] += psh == shape
            hits["colour+shape"] += pc == colour and psh == shape
            hits["object"] += (ps, pc, psh) == (size, colour, shape)
    out = {"grammar": parsed / len(predictions), "count": count_ok / len(predictions)}
    out.update({k: (hits[k] / scored if scored else float("nan")) for k in keys})
    out["objects"] = scored
    return out
