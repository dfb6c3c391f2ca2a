"""Greedy decoding and beam search (rnnbook.decode)."""
import itertools

import numpy as np
import pytest

from rnnbook.decode import beam_search, beam_step, greedy_decode
from rnnbook.functions import log_softmax


class ToyStep:
    """A tiny random recurrent decoder: state (h,), log_probs from h @ Wo."""

    def __init__(self, V=5, H=4, seed=0, scale=2.0):
        rng = np.random.default_rng(seed)
        self.E = rng.standard_normal((V, H)) * scale
        self.Wh = rng.standard_normal((H, H)) * scale / np.sqrt(H)
        self.Wo = rng.standard_normal((H, V)) * scale
        self.calls = 0

    def __call__(self, tokens, state):
        self.calls += 1
        (h,) = state
        h = np.tanh(self.E[tokens] + h @ self.Wh)
        return log_softmax(h @ self.Wo), (h,)


def brute_force(step, h0, start, L, V):
    best, best_seq = -np.inf, None
    for seq in itertools.product(range(V), repeat=L):
        state, tok, total = (h0[None],), np.array([start]), 0.0
        for s in seq:
            lp, state = step(tok, state)
            total += lp[0, s]
            tok = np.array([s])
        if total > best:
            best, best_seq = total, seq
    return best, np.array(best_seq)


def test_greedy_takes_the_argmax_and_stops_at_end():
    step = ToyStep()
    h0 = np.random.default_rng(1).standard_normal((6, 4))
    out = greedy_decode(step, (h0,), start_id=0, max_len=5)
    # redo by hand
    state, tok = (h0,), np.zeros(6, dtype=int)
    for t in range(5):
        lp, state = step(tok, state)
        tok = lp.argmax(1)
        assert (out[:, t] == tok).all()
    out_end = greedy_decode(step, (h0,), start_id=0, max_len=5, end_id=2)
    for row, full in zip(out_end, out):
        hits = np.flatnonzero(full == 2)
        if hits.size:
            k = hits[0]
            assert (row[:k + 1] == full[:k + 1]).all() and (row[k:] == 2).all()
        else:
            assert (row == full).all()


def test_beam_width_one_is_greedy():
    step = ToyStep(V=6, seed=3)
    h0 = np.random.default_rng(2).standard_normal((8, 4))
    g = greedy_decode(step, (h0,), 0, 6, end_id=1)
    b, _ = beam_search(step, (h0,), 0, 6, 1, end_id=1)
    assert (g == b).all()


def test_wide_beam_finds_the_exact_optimum_and_beats_greedy():
    V, L = 3, 4
    step = ToyStep(V=V, seed=7, scale=3.0)
    rng = np.random.default_rng(0)
    h0s = rng.standard_normal((12, 4))
    ids, scores = beam_search(step, (h0s,), 0, L, V ** (L - 1))   # wide enough to be exhaustive
    greedy = greedy_decode(step, (h0s,), 0, L)
    better = 0
    for n in range(12):
        best, seq = brute_force(step, h0s[n], 0, L, V)
        assert np.isclose(scores[n], best)
        assert (ids[n] == seq).all()
        # greedy's own score
        state, tok, tot = (h0s[n][None],), np.array([0]), 0.0
        for s in greedy[n]:
            lp, state = step(tok, state)
            tot += lp[0, s]
            tok = np.array([s])
        assert tot <= best + 1e-12
        better += tot < best - 1e-9
    assert better > 0, "the toy problem should have cases where greedy is not optimal"


def test_beam_scores_are_the_log_probabilities_of_the_returned_sequences():
    step = ToyStep(V=5, seed=11, scale=3.0)
    h0 = np.random.default_rng(4).standard_normal((10, 4))
    for K in (1, 3, 6):
        ids, scores = beam_search(step, (h0,), 0, 5, K, end_id=2)
        state, tok, total, alive = (h0,), np.zeros(10, dtype=int), np.zeros(10), np.ones(10, dtype=bool)
        for t in range(5):
            lp, state = step(tok, state)
            total += np.where(alive, lp[np.arange(10), ids[:, t]], 0.0)
            alive &= ids[:, t] != 2
            tok = ids[:, t]
        assert np.allclose(total, scores)


def test_beam_step_by_hand():
    scores = np.array([-1.0, -2.0])
    lp = np.log(np.array([[0.5, 0.3, 0.2], [0.9, 0.05, 0.05]]))
    new, parents, tokens = beam_step(scores, lp, 3)
    cand = scores[:, None] + lp
    flat = np.sort(cand.ravel())[::-1][:3]
    assert np.allclose(new, flat)
    assert parents.tolist() == [0, 1, 0] and tokens.tolist() == [0, 0, 1]
    # batched form agrees with the unbatched one
    new2, p2, t2 = beam_step(np.stack([scores, scores]), np.stack([lp, lp]), 3)
    assert np.allclose(new2[1], new) and (p2[1] == parents).all() and (t2[1] == tokens).all()


def test_bad_inputs():
    step = ToyStep()
    h0 = np.zeros((2, 4))
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        greedy_decode(step, (h0,), 0, 0)
    with pytest.raises(TypeError, match="state must be a non-empty tuple of arrays"):
        greedy_decode(step, h0, 0, 3)
    with pytest.raises(ValueError, match=r"state\[1\] has shape \(3, 4\)"):
        greedy_decode(step, (h0, np.zeros((3, 4))), 0, 3)
    with pytest.raises(ValueError, match="beam_width must be a positive integer"):
        beam_search(step, (h0,), 0, 3, 0)
    with pytest.raises(ValueError, match=r"log_probs must have shape scores.shape \+ \(V,\)"):
        beam_step(np.zeros(2), np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match="beam_width must be an integer from 1 to K \\* V = 8"):
        beam_step(np.zeros(2), np.zeros((2, 4)), 9)
    with pytest.raises(ValueError, match="step returned log_probs of shape"):
        greedy_decode(lambda tok, st: (np.zeros((5, 3)), st), (h0,), 0, 3)


def test_length_normalisation_reranks_the_final_beam():
    from rnnbook.decode import length_normalize
    assert np.allclose(length_normalize(np.array([-2.0, -3.0]), np.array([1, 3]), 1.0), [-2.0, -1.0])
    assert np.allclose(length_normalize(np.array([-2.0, -3.0]), np.array([1, 3]), 0.0), [-2.0, -3.0])
    with pytest.raises(ValueError, match="alpha must be a number >= 0"):
        length_normalize(np.array([-1.0]), np.array([1]), -1.0)
    with pytest.raises(ValueError, match="lengths must be positive"):
        length_normalize(np.array([-1.0]), np.array([0]), 1.0)
    step, h0 = ToyStep(V=4, seed=3), np.random.default_rng(3).standard_normal((6, 4))
    plain = beam_search(step, (h0,), 1, 6, 4, 0, return_all=True)
    norm = beam_search(step, (h0,), 1, 6, 4, 0, length_alpha=1.0, return_all=True)
    # the same final hypotheses, only their order may change; alpha=0 is the plain beam
    for n in range(6):
        assert sorted(map(tuple, plain[2][n])) == sorted(map(tuple, norm[2][n]))
    lengths = np.where((norm[2] == 0).any(-1), (norm[2] == 0).argmax(-1) + 1, 6)
    ranked = length_normalize(norm[3], lengths, 1.0)
    assert (np.diff(ranked, axis=1) <= 1e-12).all()   # best first by the normalised score
    zero = beam_search(step, (h0,), 1, 6, 4, 0, length_alpha=0.0)
    assert (zero[0] == plain[0]).all()


def test_top_k_equals_the_full_stable_sort_with_ties_and_minus_infinity():
    from rnnbook.decode import _top_k

    rng = np.random.default_rng(0)
    for _ in range(300):
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 40)))
        cand = rng.integers(-3, 3, size=shape).astype(float)     # many ties
        cand[rng.random(shape) < 0.2] = -np.inf
        k = int(rng.integers(1, shape[1] + 1))
        assert (_top_k(cand, k) == np.argsort(-cand, axis=-1, kind="stable")[..., :k]).all()
