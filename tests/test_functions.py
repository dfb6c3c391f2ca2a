"""Numerical safety of the basic functions (RuntimeWarnings are errors in this test suite)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from rnnbook import functions as F


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_stay_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], dtype=dtype)
    p = F.softmax(x)
    assert p.dtype == dtype and np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-6)
    assert np.isfinite(F.log_softmax(x)).all()
    s = F.sigmoid(np.array([-1e4, 0, 1e4], dtype=dtype))
    assert s.dtype == dtype
    np.testing.assert_allclose(s, [0, 0.5, 1])
    assert np.isfinite(F.cross_entropy(x, np.array([1, 0])))


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                  elements=st.floats(-1e4, 1e4)))
def test_softmax_properties(x):
    p = F.softmax(x)
    assert np.isfinite(p).all() and (p >= 0).all()
    np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-9)
    np.testing.assert_allclose(F.softmax(x + 123.0), p, atol=1e-9)     # shift invariance
    np.testing.assert_allclose(np.exp(F.log_softmax(x)), p, atol=1e-9)


def test_cross_entropy_of_uniform_is_log_v():
    for V in (2, 7, 1000):
        assert F.cross_entropy(np.zeros((3, V)), np.array([0, 1, 1])) == pytest.approx(np.log(V))
        assert F.perplexity(np.log(V)) == pytest.approx(V)


@pytest.mark.parametrize("logits,targets,exc,msg", [
    (np.zeros((2, 3)), np.array([0, 1, 2]), ValueError, r"targets must have shape \(2,\)"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "integer class ids"),
    (np.zeros((2, 3)), np.array([0, 3]), ValueError, r"in \[0, 3\)"),
    (np.zeros((0, 3)), np.zeros(0, dtype=int), ValueError, "empty"),
])
def test_cross_entropy_bad_input(logits, targets, exc, msg):
    with pytest.raises(exc, match=msg):
        F.cross_entropy(logits, targets)


def test_non_array_input_is_a_type_error():
    with pytest.raises(TypeError, match="x must be a NumPy array, got a dict"):
        F.softmax({"a": 1})
