"""The generated caption datasets (rnnbook.data.captions): determinism, splits, grammar, encoding, scoring."""
import numpy as np
import pytest

from rnnbook.data.captions import (COLOURS, END_ID, HELD_OUT, PAD_ID, SHAPES, START_ID, attribute_accuracy,
                                   caption_vocab, decode_captions, describe_scene, digit_captions, digit_pools,
                                   encode_captions, parse_shape_caption, render_shape, shape_captions)


def test_digit_captions_are_deterministic_and_describe_the_scans():
    a = digit_captions(50, seed=3)
    b = digit_captions(50, seed=3)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert not np.array_equal(a.images, digit_captions(50, seed=4).images)
    assert a.images.shape == (50, 1, 8, 32) and a.images.dtype == np.float32
    assert 0.0 <= a.images.min() and a.images.max() <= 1.0
    words = ("zero one two three four five six seven eight nine").split()
    for cap, digits, img in zip(a.captions, a.truth, a.images):
        assert cap == " ".join(words[d] for d in digits)
        assert 1 <= len(digits) <= 4
        used = np.flatnonzero(img[0].any(axis=0))            # ink only in the columns of the k scans
        assert used.max() - used.min() < 8 * len(digits)
    assert {len(d) for d in a.truth} == {1, 2, 3, 4}


def test_digit_pools_are_disjoint_and_cover_the_scans():
    pools = digit_pools()
    tr, te = pools["train"][0], pools["test"][0]
    assert len(tr) + len(te) == 1797
    flat_tr = {x.tobytes() for x in tr}
    # a few scans of load_digits are exact duplicates of each other; nearly all test scans are unseen
    assert sum(x.tobytes() in flat_tr for x in te) <= 5
    test_set = digit_captions(30, split="test", seed=0)
    assert test_set.images.shape == (30, 1, 8, 32)


def test_shape_captions_are_deterministic_and_follow_the_grammar():
    a = shape_captions(60, seed=1)
    b = shape_captions(60, seed=1)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert a.images.shape == (60, 3, 24, 24) and a.images.dtype == np.float32
    assert 0.0 <= a.images.min() and a.images.max() <= 1.0
    for cap, objs in zip(a.captions, a.truth):
        assert parse_shape_caption(cap) == objs
        assert describe_scene(objs) == cap
        assert 1 <= len(objs) <= 3
    assert {len(t) for t in a.truth} == {1, 2, 3}


def test_held_out_combinations_never_appear_in_training_and_always_in_held_out():
    held = set(HELD_OUT)
    train = shape_captions(300, split="train", seed=5)
    seen = shape_captions(100, split="seen", seed=6)
    test = shape_captions(100, split="held_out", seed=7)
    for data in (train, seen):
        assert not any((c, s) in held for objs in data.truth for _, c, s in objs)
    assert all(any((c, s) in held for _, c, s in objs) for objs in test.truth)
    # every colour and every shape still appears in training, only the combinations are missing
    colours = {c for objs in train.truth for _, c, _ in objs}
    shapes = {s for objs in train.truth for _, _, s in objs}
    assert colours == {"red", "green", "blue", "yellow"} and shapes == set(SHAPES)


def test_objects_are_ordered_left_to_right_in_the_pixels():
    data = shape_captions(80, seed=8, noise=0.0)
    names = list(COLOURS)
    ref = np.array([np.array(COLOURS[c]) / max(COLOURS[c]) for c in names])        # (4, 3) normalised
    checked = 0
    for img, objs in zip(data.images, data.truth):
        colours = [c for _, c, _ in objs]
        if len(objs) < 2 or len(set(colours)) < len(colours):
            continue
        peak = img.max(axis=0)
        ys, xs = np.nonzero(peak > 0)
        pix = img[:, ys, xs].T / peak[ys, xs][:, None]
        label = np.argmin(((pix[:, None, :] - ref[None]) ** 2).sum(-1), axis=1)
        centres = [xs[label == names.index(c)].mean() for c in colours]
        assert centres == sorted(centres), (objs, centres)
        checked += 1
    assert checked >= 10


def test_render_shape_paints_the_expected_areas():
    img = np.zeros((3, 24, 24), dtype=np.float32)
    render_shape(img, "square", 12, 12, 5, (1, 0, 0))
    square = int((img[0] > 0).sum())
    img[:] = 0
    render_shape(img, "circle", 12, 12, 5, (0, 1, 0))
    circle = int((img[1] > 0).sum())
    img[:] = 0
    render_shape(img, "triangle", 12, 12, 5, (0, 0, 1))
    triangle = int((img[2] > 0).sum())
    assert triangle < square < circle
    assert abs(circle - np.pi * 4.75 ** 2) < 8 and abs(square - 8 ** 2) < 10


def test_encode_and_decode_captions():
    caps = ["a small red circle", "four one", "a large blue square left of a small red circle"]
    vocab = caption_vocab(caps)
    assert vocab.itos[:3] == ["<pad>", "<start>", "<end>"]
    ids = encode_captions(caps, vocab)
    assert ids.shape == (3, 12) and ids.dtype == np.int64
    assert (ids[:, 0] == START_ID).all()
    assert ids[1, 3] == END_ID and (ids[1, 4:] == PAD_ID).all()
    assert decode_captions(ids, vocab) == caps
    assert decode_captions(ids[1], vocab) == ["four one"]
    assert encode_captions(caps, vocab, max_len=12).shape == (3, 14)


def test_attribute_accuracy_counts_per_object():
    truth = [[("small", "red", "circle"), ("large", "blue", "square")], [("large", "red", "triangle")]]
    preds = ["a small red circle left of a large green square", "a large red circle"]
    acc = attribute_accuracy(preds, truth)
    assert acc["grammar"] == 1.0 and acc["count"] == 1.0 and acc["objects"] == 3
    assert acc["size"] == 1.0 and acc["colour"] == pytest.approx(2 / 3) and acc["shape"] == pytest.approx(2 / 3)
    assert acc["object"] == pytest.approx(1 / 3) and acc["colour+shape"] == pytest.approx(1 / 3)
    only = attribute_accuracy(preds, truth, only=[("red", "triangle")])
    assert only["objects"] == 1 and only["colour"] == 1.0 and only["shape"] == 0.0
    bad = attribute_accuracy(["a small red", "red circle"], truth)
    assert bad["grammar"] == 0.0 and bad["size"] == 0.0
    assert parse_shape_caption("a small red circle left of") is None
    assert parse_shape_caption("a small red circle left a small red circle") is None


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        digit_captions(0)
    with pytest.raises(ValueError, match="split must be 'train' or 'test', got 'seen'"):
        digit_captions(5, split="seen")
    with pytest.raises(ValueError, match="split must be 'train', 'seen' or 'held_out', got 'test'"):
        shape_captions(5, split="test")
    with pytest.raises(ValueError, match="size must be at least 20 pixels"):
        shape_captions(5, size=12)
    with pytest.raises(ValueError, match=r"held_out entries must be \(colour, shape\)"):
        shape_captions(5, held_out=[("purple", "circle")])
    with pytest.raises(TypeError, match="seed must be an int, got str"):
        shape_captions(5, seed="0")
    vocab = caption_vocab(["a b"])
    with pytest.raises(ValueError, match="max_len=1 is too short: the longest caption has 2 words"):
        encode_captions(["a b"], vocab, max_len=1)
    with pytest.raises(TypeError, match="captions must be a list of strings, got a single string"):
        encode_captions("a b", vocab)
    with pytest.raises(ValueError, match=r"id 9 is outside the vocabulary \[0, 5\)"):
        decode_captions(np.array([[1, 9]]), vocab)
    with pytest.raises(ValueError, match="predictions and truth must have the same length, got 1 and 2"):
        attribute_accuracy(["a small red circle"], [[], []])
    with pytest.raises(ValueError, match="shape must be one of"):
        render_shape(np.zeros((3, 4, 4)), "star", 1, 1, 1, (1, 1, 1))
