"""Tests of rnnbook.autograd: a gradient check of every operation, agreement with the hand-written
backward passes of rnnbook.rnn and rnnbook.lstm, gradient accumulation, bad inputs."""
import numpy as np
import pytest

from rnnbook import autograd as ag
from rnnbook.autograd import Tensor
from rnnbook.functions import cross_entropy as np_cross_entropy
from rnnbook.functions import log_softmax as np_log_softmax
from rnnbook.gradcheck import numerical_gradient, rel_error
from rnnbook.lstm import lstm_backward, lstm_forward
from rnnbook.rnn import rnn_backward, rnn_forward


def check_op(build, *arrays, seed=0):
    """Gradient-check ``build(*tensors) -> Tensor`` on the scalar ``sum(out * R)``; return the worst error."""
    rng = np.random.default_rng(seed)
    leaves = [Tensor(a) for a in arrays]
    out = build(*leaves)
    R = rng.standard_normal(out.shape)
    (out * R).sum().backward()
    worst = 0.0
    for leaf, a in zip(leaves, arrays):
        def f():
            return float(np.sum(build(*[Tensor(x) for x in arrays]).data * R))
        assert leaf.grad is not None and leaf.grad.shape == a.shape
        worst = max(worst, rel_error(leaf.grad, numerical_gradient(f, a)))
    return worst


rng0 = np.random.default_rng(42)
A23, B23 = rng0.standard_normal((2, 3)), rng0.standard_normal((2, 3))

OPS = {
    "add": (lambda a, b: a + b, [A23, B23]),
    "add broadcast row": (lambda a, b: a + b, [A23, rng0.standard_normal(3)]),
    "add broadcast column": (lambda a, b: a + b, [rng0.standard_normal((2, 1)), A23]),
    "add broadcast (1, 3) to (4, 2, 3)": (lambda a, b: a + b,
                                          [rng0.standard_normal((1, 3)), rng0.standard_normal((4, 2, 3))]),
    "sub": (lambda a, b: a - b, [A23, B23]),
    "rsub constant": (lambda a: 2.0 - a, [A23]),
    "neg": (lambda a: -a, [A23]),
    "mul": (lambda a, b: a * b, [A23, B23]),
    "mul broadcast": (lambda a, b: a * b, [A23, rng0.standard_normal((2, 1))]),
    "mul constant": (lambda a: 3.0 * a * np.arange(3.0), [A23]),
    "matmul": (lambda a, b: a @ b, [A23, rng0.standard_normal((3, 4))]),
    "sigmoid": (lambda a: ag.sigmoid(a), [A23 * 3]),
    "tanh": (lambda a: ag.tanh(a), [A23 * 2]),
    "slice columns": (lambda a: a[:, 1:3], [A23]),
    "slice time step": (lambda a: a[:, 2], [rng0.standard_normal((2, 4, 3))]),
    "fancy index with repeats": (lambda a: a[np.array([0, 1, 0]), np.array([2, 2, 2])], [A23]),
    "concat axis 0": (lambda a, b: ag.concat([a, b], axis=0), [A23, rng0.standard_normal((4, 3))]),
    "concat axis 1": (lambda a, b, c: ag.concat([a, b, c], axis=1),
                      [A23, rng0.standard_normal((2, 1)), rng0.standard_normal((2, 5))]),
    "sum all": (lambda a: a.sum(), [A23]),
    "sum axis 0": (lambda a: a.sum(axis=0), [A23]),
    "sum axis 1 keepdims": (lambda a: a.sum(axis=1, keepdims=True), [A23]),
    "reshape": (lambda a: a.reshape(3, 2), [A23]),
    "log_softmax": (lambda a: ag.log_softmax(a), [A23 * 4]),
    "log_softmax axis 0": (lambda a: ag.log_softmax(a, axis=0), [A23 * 4]),
    "cross_entropy": (lambda a: ag.cross_entropy(a, np.array([2, 0])), [A23 * 2]),
    "used twice": (lambda a: a * a + ag.sigmoid(a), [A23]),
    "ndarray on the left": (lambda a: np.arange(3.0) * a - np.ones(3) + np.ones((2, 2)) @ a, [A23]),
}


@pytest.mark.parametrize("name", list(OPS))
def test_every_operation_matches_numerical_gradient(name):
    build, arrays = OPS[name]
    arrays = [a.copy() for a in arrays]
    assert check_op(build, *arrays) < 1e-7


def test_forward_values_match_numpy_and_library():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)) * 3
    t = np.array([0, 4, 2, 2])
    np.testing.assert_allclose(ag.log_softmax(Tensor(x)).data, np_log_softmax(x), atol=1e-14)
    assert abs(float(ag.cross_entropy(Tensor(x), t).data) - np_cross_entropy(x, t)) < 1e-13
    big = Tensor(np.array([[1000.0, -1000.0, 0.0]]))
    loss = ag.cross_entropy(big, np.array([1]))
    loss.backward()
    assert np.isfinite(loss.data) and np.isfinite(big.grad).all()


def test_plain_backward_functions():
    rng = np.random.default_rng(2)
    a, b, g = rng.standard_normal((3, 4)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2))
    da, db = ag.matmul_backward(a, b, g)
    np.testing.assert_allclose(da, g @ b.T)
    np.testing.assert_allclose(db, a.T @ g)
    x, y, g2 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((3, 4))
    dx, dy = ag.mul_backward(x, y, g2)
    assert dx.shape == (3, 4) and dy.shape == (4,)
    np.testing.assert_allclose(dy, (g2 * x).sum(axis=0))
    assert ag.unbroadcast(np.ones((5, 2, 3)), (1, 3)).tolist() == [[10.0, 10.0, 10.0]]
    s = ag.sigmoid(Tensor(x)).data
    np.testing.assert_allclose(ag.sigmoid_backward(s, g2), g2 * s * (1 - s))


def test_shared_tensor_accumulates_and_backward_twice_adds():
    x = Tensor(np.array([2.0]))
    y = x * x + x * 3.0                        # dy/dx = 2x + 3 = 7
    y.sum().backward()
    assert x.grad.tolist() == [7.0]
    z = (x * x).sum()
    z.backward()
    assert x.grad.tolist() == [11.0]           # 7 + 4: gradients accumulate until zero_grad
    z.zero_grad()
    assert x.grad is None


def test_backward_twice_accumulates_on_leaves_only_with_a_reused_intermediate():
    # issue 22: h is used twice by h * h; a second backward must not re-propagate h's old gradient
    x = Tensor(np.array([[1.0, 2.0]]))
    w = Tensor(np.array([[3.0], [0.0]]))
    h = x @ w
    L = (h * h).sum()
    L.backward()
    assert w.grad.ravel().tolist() == [6.0, 12.0]
    assert h.grad.ravel().tolist() == [6.0]
    L.backward()
    assert w.grad.ravel().tolist() == [12.0, 24.0]      # 2 x [6, 12], as PyTorch gives
    assert x.grad.ravel().tolist() == [36.0, 0.0]       # 2 x dL/dx = 2 x 2h w^T
    assert h.grad.ravel().tolist() == [6.0]              # an intermediate: the latest call only
    # a shared intermediate inside a deeper graph, three calls: leaves get exactly 3x one call
    rng = np.random.default_rng(0)
    a, b = Tensor(rng.standard_normal((3, 4))), Tensor(rng.standard_normal((4, 2)))
    s = ag.tanh(a @ b)
    loss = (s * s + ag.sigmoid(s) * s).sum()
    loss.backward()
    once = [a.grad.copy(), b.grad.copy()]
    loss.backward()
    loss.backward()
    np.testing.assert_allclose(a.grad, 3 * once[0], rtol=1e-12)
    np.testing.assert_allclose(b.grad, 3 * once[1], rtol=1e-12)


def test_topological_order_puts_parents_first_and_handles_long_graphs():
    x = Tensor(np.ones(2))
    h = x
    for _ in range(3000):                      # deeper than Python's recursion limit
        h = ag.tanh(h)
    order = ag.topological_order(h)
    assert len(order) == 3001 and order[0] is x and order[-1] is h
    h.sum().backward()
    assert np.isfinite(x.grad).all()
    a = Tensor(1.0, name="a")
    b = ag.sigmoid(a)
    c = a * b
    d = c + b
    order = ag.topological_order(d)
    pos = {id(n): k for k, n in enumerate(order)}
    assert len(order) == 4
    for n in order:
        for p in n.parents:
            assert pos[id(p)] < pos[id(n)]


def _loss_over_time(hs, R):
    loss = (hs[0] * R[:, 0]).sum()
    for t in range(1, len(hs)):
        loss = loss + (hs[t] * R[:, t]).sum()
    return loss


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 6, 4, 5)])
def test_engine_agrees_with_rnn_backward(shape):
    N, T, D, H = shape
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((D, H)) * 0.5,
              rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H) * 0.2]
    R = rng.standard_normal((N, T, H))
    leaves = [Tensor(a) for a in arrays]
    hs = ag.rnn_graph(*leaves)
    np.testing.assert_allclose(np.stack([h.data for h in hs], axis=1), rnn_forward(*arrays), atol=1e-13)
    _loss_over_time(hs, R).backward()
    xs, h0, Wx, Wh, b = arrays
    ref = rnn_backward(R, xs, h0, rnn_forward(xs, h0, Wx, Wh, b), Wx, Wh)
    for leaf, r in zip(leaves, ref):
        assert rel_error(leaf.grad, r) < 1e-10


@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (3, 7, 4, 5), (2, 12, 3, 8)])
def test_engine_agrees_with_lstm_backward(shape):
    N, T, D, H = shape
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H)),
              rng.standard_normal((D, 4 * H)) * 0.5, rng.standard_normal((H, 4 * H)) * 0.5,
              rng.standard_normal(4 * H) * 0.3]
    R = rng.standard_normal((N, T, H))
    leaves = [Tensor(a) for a in arrays]
    hs, cs = ag.lstm_graph(*leaves)
    ref_hs, ref_cs = lstm_forward(*arrays)
    np.testing.assert_allclose(np.stack([h.data for h in hs], axis=1), ref_hs, atol=1e-13)
    np.testing.assert_allclose(np.stack([c.data for c in cs], axis=1), ref_cs, atol=1e-13)
    _loss_over_time(hs, R).backward()
    ref = lstm_backward(R, *arrays)             # dxs, dh0, dc0, dWx, dWh, db
    for leaf, r in zip(leaves, ref):
        assert rel_error(leaf.grad, r) < 1e-10


def test_lstm_graph_matches_numerical_gradient_through_cross_entropy():
    rng = np.random.default_rng(5)
    N, T, D, H, V = 2, 3, 3, 4, 5
    xs, h0, c0 = rng.standard_normal((N, T, D)), np.zeros((N, H)), np.zeros((N, H))
    Wx, Wh, b = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)), rng.standard_normal(4 * H)
    Wout, targets = rng.standard_normal((H, V)), np.array([1, 4])

    def build(*arrs):
        leaves = [Tensor(a) for a in arrs]
        hs, _ = ag.lstm_graph(*leaves[:6])
        return leaves, ag.cross_entropy(hs[-1] @ leaves[6], targets)

    arrays = [xs, h0, c0, Wx, Wh, b, Wout]
    leaves, loss = build(*arrays)
    loss.backward()
    for leaf, a in zip(leaves, arrays):
        num = numerical_gradient(lambda: float(build(*arrays)[1].data), a)
        assert rel_error(leaf.grad, num) < 1e-7


def test_graph_size_counts_nodes_and_bytes():
    x = Tensor(np.zeros((2, 3)))
    y = ag.tanh(x) * 2.0
    info = ag.graph_size(y.sum())
    assert info["nodes"] == 5 and info["leaves"] == 2
    assert info["data_bytes"] == 48 + 48 + 8 + 48 + 8 and info["grad_bytes"] == 0


def test_bad_inputs_raise_clear_errors():
    a = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"matmul needs \(N, K\) @ \(K, M\) matrices, got \(2, 3\) @ \(2, 3\)"):
        a @ Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"backward\(\) without a gradient needs a scalar.*\(2, 3\)"):
        a.backward()
    with pytest.raises(ValueError, match=r"grad must have shape \(2, 3\), got \(3,\)"):
        a.backward(np.ones(3))
    with pytest.raises(TypeError, match="Tensor data must be numeric"):
        Tensor(np.array(["x"]))
    with pytest.raises(TypeError, match="x must be a Tensor, got ndarray"):
        ag.sigmoid(np.ones(3))
    with pytest.raises(ValueError, match=r"targets must have shape \(2,\), got \(3,\)"):
        ag.cross_entropy(a, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="targets must be an integer array"):
        ag.cross_entropy(a, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"targets must be in \[0, 3\)"):
        ag.cross_entropy(a, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"Wx \(D, 4H\), Wh \(H, 4H\), b \(4H,\)"):
        ag.lstm_graph(*[Tensor(np.ones(s)) for s in [(1, 2, 3), (1, 2), (1, 2), (3, 4), (2, 8), (8,)]])
    with pytest.raises(ValueError, match=r"xs must have shape \(N, T, D\)"):
        ag.rnn_graph(*[Tensor(np.ones(s)) for s in [(2, 3), (2, 2), (3, 2), (2, 2), (2,)]])


# ----- the appendix's graded topological sort: any valid order passes, typical bugs get pointed feedback

def _topo_exercise():
    from rnnbook import grading
    ex = {e.name: e for e in grading.exercises_for("A1_autodiff")}["topological_order"]
    return ex, grading.reference_functions("A1_autodiff")["topological_order"]


def test_topological_exercise_accepts_another_valid_order():
    from rnnbook.grading.core import run_exercise
    ex, ref = _topo_exercise()

    def kahn(graph, root):                     # a different algorithm, a different (valid) order
        need, stack = set(), [root]
        while stack:
            n = stack.pop()
            if n not in need:
                need.add(n)
                stack.extend(graph[n])
        indeg = {n: sum(p in need for p in graph[n]) for n in need}
        ready = sorted(n for n in need if indeg[n] == 0)[::-1]
        order = []
        while ready:
            n = ready.pop()
            order.append(n)
            for m in sorted(need):
                if n in graph[m]:
                    indeg[m] -= graph[m].count(n)
                    if indeg[m] == 0:
                        ready.append(m)
        return order
    assert run_exercise(ex, kahn, ref).status == "passed"


def test_topological_exercise_feedback_on_typical_bugs():
    from rnnbook.grading.core import run_exercise
    ex, ref = _topo_exercise()

    def no_visited_set(graph, root):
        order = []

        def visit(n):
            for p in graph[n]:
                visit(p)
            order.append(n)
        visit(root)
        return order

    def preorder(graph, root):
        order, seen = [], set()

        def visit(n):
            if n in seen:
                return
            seen.add(n)
            order.append(n)
            for p in graph[n]:
                visit(p)
        visit(root)
        return order

    def every_node(graph, root):
        return ref(graph, root) + [n for n in graph if n not in ref(graph, root)]

    r = run_exercise(ex, no_visited_set, ref)
    assert r.score == 0 and "appears twice" in r.feedback
    r = run_exercise(ex, preorder, ref)
    assert r.score == 0 and "comes before its parent" in r.feedback
    r = run_exercise(ex, every_node, ref)
    assert r.score == 0 and "does not depend on" in r.feedback


def test_topological_exercise_names_its_known_mistakes():
    """With the solutions' variants (as the notebook grader passes them), a learner whose order is that of a
    known mistake on every case gets that mistake named; a valid order is never taken for one."""
    from rnnbook import grading
    from rnnbook.grading.core import run_exercise
    ex, ref = _topo_exercise()
    refs = grading.reference_functions("A1_autodiff")
    variants = {k: refs[f"topological_order__{k}"] for k in ex.mistakes}
    assert len(variants) >= 2
    for key, fn in variants.items():
        r = run_exercise(ex, fn, ref, variants=variants)
        assert r.score == 0 and "known mistake" in r.feedback and ex.mistakes[key] in r.feedback, r.feedback
    assert run_exercise(ex, ref, ref, variants=variants).status == "passed"


def test_draw_graph_draws_one_box_per_node():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    x, W = Tensor(np.ones((1, 2)), name="x"), Tensor(np.ones((2, 2)), name="W")
    h1 = ag.tanh(x @ W)
    loss = (h1 @ W).sum()
    fig, ax = plt.subplots()
    ag.draw_graph(loss, ax, leaves=[W, x])
    labels = [t.get_text() for t in ax.texts if t.get_text()]       # arrows are empty annotations
    plt.close(fig)
    assert sorted(labels) == sorted(["x", "W", "@", "tanh", "@", "sum"])
