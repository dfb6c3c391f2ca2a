"""rnnbook.brackets: the scanner that pairs openers with closers, and the accuracy-by-distance measurement."""
import numpy as np
import pytest

from rnnbook.brackets import ClosingResult, closing_accuracy, closing_pairs, next_char_probs
from rnnbook.data import char_vocab
from rnnbook.models import LanguageModel, RNNLM


def test_pairs_nested_brackets_and_quotes():
    text = "f(a, [b]) + g({'k': \"v\"})"
    rows = closing_pairs(text).tolist()
    assert rows == [[5, 7, 0], [1, 8, 0], [15, 17, 1], [20, 22, 1], [14, 23, 0], [13, 24, 0]]
    assert closing_pairs(text, quotes=False).tolist() == [r for r in rows if r[2] == 0]


def test_strings_comments_and_docstrings_are_not_code():
    text = ('def f(x):\n    """Don\'t (do) it."""\n'
            '    return g("a(", x) + \'q\\\'z\'  # it\'s (a comment\n')
    rows = closing_pairs(text).tolist()
    o = text.index('"a(')
    assert rows == [[5, 7, 0], [o, o + 3, 1], [o - 1, o + 7, 0], [text.index("'q"), text.index("z'") + 1, 1]]


def test_unmatched_and_unterminated_are_dropped():
    assert closing_pairs("a) b] (c").tolist() == []          # closers with nothing open, opener never closed
    assert closing_pairs("(a]b)").tolist() == [[0, 4, 0]]     # a mismatched closer is ignored
    assert closing_pairs("x = 'abc\ny = 1").tolist() == []    # a string still open at the end of its line


def test_closing_accuracy_reads_the_right_rows():
    text = "(ab)(c)"
    vocab = char_vocab(text)
    T = len(text) - 1
    probs = np.full((T, len(vocab)), 1.0 / len(vocab))
    # row t predicts text[t + 1]: make the model right about the ")" at 3 and wrong about the one at 6
    probs[2] = np.eye(len(vocab))[vocab.stoi[")"]]
    probs[5] = np.eye(len(vocab))[vocab.stoi["c"]]
    res = closing_accuracy(text, probs, vocab)
    assert res.distance.tolist() == [3, 2] and res.correct.tolist() == [True, False]
    assert res.prob.tolist() == [1.0, 0.0]
    assert res.accuracy() == (0.5, 2)
    assert res.short_and_long(short=2, long=3) == {"short": 0.0, "n_short": 1, "long": 1.0, "n_long": 1}
    # a stretch that starts after the first opener measures only the second pair
    sub = closing_accuracy(text, probs[3:], vocab, start=3)
    assert sub.close.tolist() == [6] and not sub.correct[0]


def test_closing_accuracy_accepts_logits_and_checks_shapes():
    text = "(a)"
    vocab = char_vocab(text)
    logits = np.zeros((2, len(vocab)))
    logits[1, vocab.stoi[")"]] = 5.0
    res = closing_accuracy(text, logits, vocab)
    assert res.correct.tolist() == [True] and 0.9 < res.prob[0] < 1
    with pytest.raises(ValueError, match="shape"):
        closing_accuracy(text, logits[:, :2], vocab)
    with pytest.raises(ValueError, match="beyond"):
        closing_accuracy(text, logits, vocab, start=2)


def test_by_distance_bins_and_empty_bucket():
    res = ClosingResult(*(np.array(v) for v in ([0, 0, 0], [1, 5, 40], [0, 0, 1], [1, 5, 40],
                                                 [True, False, True], [0.9, 0.1, 0.8])))
    rows = res.by_distance(edges=(1, 4, 32))
    assert [(lo, hi, n) for lo, hi, _, n in rows] == [(1, 4, 1), (4, 32, 1), (32, None, 1)]
    assert np.isnan(res.accuracy(100)[0]) and res.accuracy(100)[1] == 0
    assert res.accuracy(kind=1) == (1.0, 1)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_next_char_probs_carries_the_state_and_restores_the_model(cell):
    model = LanguageModel(7, 3, 5, cell=cell, rng=0, dtype=np.float64)
    ids = np.random.default_rng(0).integers(0, 7, 23)
    chunked = next_char_probs(model, ids, chunk_len=4)
    whole = next_char_probs(model, ids, chunk_len=100)
    assert chunked.shape == (23, 7) and np.allclose(chunked.sum(axis=1), 1)
    assert np.allclose(chunked, whole)
    assert not model.recurrent[0].stateful                      # restored
    with pytest.raises(ValueError, match="1-D"):
        next_char_probs(RNNLM(7, 3, 5, rng=0), ids[None])


def _tiny_model_and_text():
    text = "def f(a, b):\n    return g([a, 'x'], {b: (a)})\n" * 6
    vocab = char_vocab(text + "?")
    return LanguageModel(len(vocab), 6, 10, cell="lstm", rng=0, dtype=np.float64), text, vocab


def test_closing_predictions_in_one_row_equal_the_full_distributions():
    from rnnbook.brackets import closing_predictions
    model, text, vocab = _tiny_model_and_text()
    start = 7
    one_row = closing_predictions(model, text, vocab, start=start, rows=1, chunk_len=9)
    full = closing_accuracy(text, next_char_probs(model, vocab.encode(text[start:]), chunk_len=13), vocab,
                            start=start)
    keep = full.close < len(text)                      # closing_predictions scores the last closer too
    assert np.array_equal(one_row.close, full.close[keep]) and np.array_equal(one_row.correct, full.correct[keep])
    np.testing.assert_allclose(one_row.prob, full.prob[keep], rtol=1e-10)
    assert all(not layer.stateful for layer in model.recurrent)


def test_closing_predictions_score_only_closers_whose_opener_is_in_the_row():
    from rnnbook.brackets import closing_predictions
    model, text, vocab = _tiny_model_and_text()
    rows = closing_predictions(model, text, vocab, rows=4)
    row_len = len(text) // 4
    assert len(rows.close) > 0 and np.all(rows.open // row_len == rows.close // row_len)
    with pytest.raises(ValueError, match="too short"):
        closing_predictions(model, text[:10], vocab, rows=8)
    with pytest.raises(ValueError, match="fill"):
        closing_predictions(model, text, vocab, fill="€")


def test_blind_baseline_reads_only_after_the_opener():
    from rnnbook.brackets import blind_baseline, closing_predictions
    model, text, vocab = _tiny_model_and_text()
    seen = closing_predictions(model, text, vocab, rows=1)
    blind = blind_baseline(model, text, vocab, seen, max_read=5)
    assert np.array_equal(blind.close, seen.close) and not blind.correct[seen.distance == 1].any()
    k = int(np.flatnonzero(seen.distance > 6)[0])          # read the last 5 characters alone, from a zero state
    c = int(seen.close[k])
    model.reset_state()
    z = model.predict(vocab.encode(text[c - 5:c])[None])[0, -1]
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert blind.prob[k] == pytest.approx(p[vocab.stoi[text[c]]], rel=1e-10)


def test_wilson_interval():
    from rnnbook.brackets import wilson_interval
    lo, hi = wilson_interval(30, 100)
    assert lo < 0.3 < hi and hi - lo == pytest.approx(0.18, abs=0.01)
    assert wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="count"):
        wilson_interval(0, 0)
