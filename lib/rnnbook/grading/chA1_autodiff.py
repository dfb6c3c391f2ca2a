"""Graded exercises of appendix A1 (an automatic-differentiation engine)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


def _unbroadcast_cases(rng):
    cases = []
    for grad_shape, shape in [((2, 3), (3,)), ((2, 3), (2, 1)), ((4, 2, 3), (1, 3)), ((2, 3), (2, 3)),
                              ((3, 4), ()), ((2, 3, 5), (3, 1))]:
        cases.append({"grad": rng.standard_normal(grad_shape), "shape": shape})
    return cases


def _mul_cases(rng):
    cases = []
    for shape in [(3,), (2, 3), (4, 2, 5)]:
        cases.append({"a": rng.standard_normal(shape), "b": rng.standard_normal(shape),
                      "grad_out": rng.standard_normal(shape)})
    return cases


def _matmul_cases(rng):
    cases = []
    for N, K, M in [(1, 1, 1), (2, 3, 4), (5, 2, 3), (4, 6, 1)]:
        cases.append({"a": rng.standard_normal((N, K)), "b": rng.standard_normal((K, M)),
                      "grad_out": rng.standard_normal((N, M))})
    return cases


def _sigmoid_cases(rng):
    cases = []
    for shape in [(3,), (2, 4), (3, 2, 2)]:
        z = rng.standard_normal(shape) * 3
        cases.append({"out": 1 / (1 + np.exp(-z)), "grad_out": rng.standard_normal(shape)})
    return cases


def _random_dag(rng, n):
    """A DAG over names n0..n{n-1}; each node's parents are earlier nodes; root is the last node."""
    names = [f"n{k}" for k in range(n)]
    graph = {}
    for k, name in enumerate(names):
        m = int(rng.integers(0, min(k, 3) + 1))
        graph[name] = [str(p) for p in rng.choice(names[:k], size=m, replace=False)] if m else []
    graph[names[-1]] = graph[names[-1]] or [names[-2]]
    return graph


def _topo_cases(rng):
    cases = [
        {"graph": {"x": [], "y": [], "mul": ["x", "y"]}, "root": "mul"},
        # x is used twice (a diamond): it must appear once, before both of its users
        {"graph": {"x": [], "s": ["x"], "p": ["x", "s"], "loss": ["p", "s"]}, "root": "loss"},
        # "unused" does not lead to the root and must not appear
        {"graph": {"W": [], "h0": [], "h1": ["W", "h0"], "h2": ["W", "h1"], "unused": ["W"], "L": ["h2"]},
         "root": "L"},
        {"graph": {"a": ["b"], "b": ["c"], "c": []}, "root": "a"},
    ]
    for n in (8, 15, 30):
        cases.append({"graph": _random_dag(rng, n), "root": f"n{n - 1}"})
    return cases


def _reachable(graph, root):
    seen, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(graph[node])
    return seen


def _compare_topological(expected, got, case) -> str | None:
    """Accept any order that lists each node reachable from the root once, after all of its parents."""
    graph, root = case["graph"], case["root"]
    if not isinstance(got, (list, tuple)):
        return f"should return a list of node names, got {type(got).__name__}"
    got = list(got)
    bad = [g for g in got if not isinstance(g, str)]
    if bad:
        return f"should return node names (strings), got {bad[0]!r} of type {type(bad[0]).__name__}"
    seen = set()
    for name in got:
        if name in seen:
            return f"node {name!r} appears twice in your order {got}"
        seen.add(name)
    need = _reachable(graph, root)
    missing = sorted(need - seen)
    if missing:
        return f"your order {got} misses node(s) {missing} that the root {root!r} depends on"
    extra = sorted(seen - need)
    if extra:
        return f"your order {got} contains node(s) {extra} that the root {root!r} does not depend on"
    pos = {name: k for k, name in enumerate(got)}
    for name in got:
        for p in graph[name]:
            if pos[p] > pos[name]:
                return f"node {name!r} comes before its parent {p!r} in your order {got}"
    if got[-1] != root:
        return f"the root {root!r} should come last, your order is {got}"
    return None


def _pow_cases(rng):
    cases = []
    for shape, p in [((3,), 2.0), ((2, 3), 3.0), ((4,), 0.5), ((2, 2), -1.0), ((3,), 0.0), ((2, 3), 1.0)]:
        cases.append({"a": rng.uniform(0.5, 2.0, shape), "p": p, "grad_out": rng.standard_normal(shape)})
    return cases


_OPS = ("add", "mul", "tanh")


def _forward(nodes, leaf_values):
    values = dict(leaf_values)
    for name, op, parents in nodes:
        if op == "add":
            values[name] = values[parents[0]] + values[parents[1]]
        elif op == "mul":
            values[name] = values[parents[0]] * values[parents[1]]
        elif op == "tanh":
            values[name] = np.tanh(values[parents[0]])
    return values


def _graph_case(rng, nodes, shape=(3,)):
    leaves = {name: rng.standard_normal(shape) for name, op, _ in nodes if op == "leaf"}
    return {"nodes": nodes, "values": _forward(nodes, leaves)}


def _reverse_cases(rng):
    fixed = [
        # one product
        [("x", "leaf", ()), ("y", "leaf", ()), ("L", "mul", ("x", "y"))],
        # x used twice by one operation, then a shared intermediate s used by two operations
        [("x", "leaf", ()), ("sq", "mul", ("x", "x")), ("s", "tanh", ("sq",)), ("p", "mul", ("s", "x")),
         ("L", "add", ("p", "s"))],
        # two time steps of h = tanh(w * h + x): the weight w is shared
        [("w", "leaf", ()), ("h0", "leaf", ()), ("x1", "leaf", ()), ("x2", "leaf", ()),
         ("a1", "mul", ("w", "h0")), ("z1", "add", ("a1", "x1")), ("h1", "tanh", ("z1",)),
         ("a2", "mul", ("w", "h1")), ("z2", "add", ("a2", "x2")), ("h2", "tanh", ("z2",))],
    ]
    cases = [_graph_case(rng, nodes) for nodes in fixed]
    for n_leaves, n_ops in ((3, 8), (4, 20)):
        nodes = [(f"x{k}", "leaf", ()) for k in range(n_leaves)]
        for k in range(n_ops):
            op = _OPS[int(rng.integers(len(_OPS)))]
            names = [n for n, _, _ in nodes]
            parents = tuple(str(q) for q in rng.choice(names[-6:], size=1 if op == "tanh" else 2))
            nodes.append((f"n{k}", op, parents))
        cases.append(_graph_case(rng, nodes, (2, 2)))
    return cases


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0.0, 1.0, 1.0, 0.0])


def xor_error(returned, seed):
    """The mean squared error on the four XOR points of the network whose parameters the learner's
    fit_xor(seed) returned: y = sigmoid(tanh(X @ W1 + b1) @ w2 + b2); computed in the grader."""
    if not isinstance(returned, dict):
        raise TypeError(f"fit_xor must return a dict of parameters, got {type(returned).__name__}")
    missing = sorted({"W1", "b1", "w2", "b2"} - set(returned))
    if missing:
        raise ValueError(f"fit_xor's dict misses {missing}")
    W1, b1 = np.asarray(returned["W1"], dtype=float), np.asarray(returned["b1"], dtype=float)
    w2, b2 = np.asarray(returned["w2"], dtype=float), np.asarray(returned["b2"], dtype=float)
    if W1.ndim != 2 or W1.shape[0] != 2 or not 1 <= W1.shape[1] <= 16:
        raise ValueError(f"W1 must have shape (2, H) with H from 1 to 16, got {W1.shape}")
    H = W1.shape[1]
    if b1.shape != (H,) or w2.shape != (H,) or b2.size != 1:
        raise ValueError(f"b1 and w2 must have shape ({H},) and b2 one number, got {b1.shape}, {w2.shape}, "
                         f"{b2.shape}")
    z = np.tanh(XOR_X @ W1 + b1) @ w2 + b2.reshape(())
    y = 1 / (1 + np.exp(-np.clip(z, -500, 500)))
    return float(np.mean((y - XOR_Y) ** 2))


EXERCISES = [
    Exercise(
        name="unbroadcast", points=2, cases=_unbroadcast_cases, outputs=("grad_in",),
        library="rnnbook.autograd.unbroadcast",
        hint="Sum over the leading axes that broadcasting added (grad.ndim - len(shape) of them), then over "
             "every axis where shape has size 1, with keepdims=True so the result has exactly `shape`.",
        mistakes={
            'leading_only': 'only the leading axes that broadcasting added are summed: axes where `shape` has size 1 '
                            'were stretched too and must be summed (keeping the axis)',
            'mean': 'the gradient is AVERAGED over the broadcast axes: every copy is one use of the same number, and '
                    'the gradients of all uses add up'
        },
        nudge='Every entry that broadcasting copied was used once per copy.',),
    Exercise(
        name="mul_backward", points=1, cases=_mul_cases, outputs=("grad_a", "grad_b"),
        library="rnnbook.autograd.mul_backward",
        hint="Each factor's gradient is grad_out times the OTHER factor: grad_a = grad_out * b.",
        mistakes={
            'own_factor': "each factor's gradient is multiplied by ITSELF: it is the upstream gradient times the "
                          'OTHER factor',
            'no_grad_out': 'the local derivatives are returned without the upstream gradient grad_out'
        },
        nudge='The product rule, then the chain rule.',),
    Exercise(
        name="matmul_backward", points=2, cases=_matmul_cases, outputs=("grad_a", "grad_b"),
        axes={"grad_a": ("row", "column"), "grad_b": ("row", "column")},
        library="rnnbook.autograd.matmul_backward",
        hint="Let the shapes guide you: grad_a must be (N, K) = (N, M) @ (M, K), so grad_out @ b.T; "
             "grad_b must be (K, M) = (K, N) @ (N, M), so a.T @ grad_out.",
        mistakes={
            'no_grad_out': 'grad_out is not used (as if it were all ones): the chain rule multiplies by it',
            'mean_rows': "grad_b is averaged over the rows of a: each row's contribution adds up"
        },
        nudge='Let the shapes guide you: which product of grad_out with b or a has the shape of a, which that of b?',),
    Exercise(
        name="sigmoid_backward", points=1, cases=_sigmoid_cases, outputs=("grad_in",),
        library="rnnbook.autograd.sigmoid_backward",
        hint="The derivative of the sigmoid is sigma (1 - sigma), and `out` already IS sigma(z): do not apply "
             "the sigmoid again. Multiply by grad_out.",
        mistakes={
            'sigmoid_again': 'the sigmoid is applied to `out` again: `out` already is sigmoid(z)',
            'no_grad_out': 'the local derivative is returned without multiplying by grad_out'
        },
        nudge="Write the sigmoid's derivative with sigma itself, which `out` already holds.",),
    Exercise(
        name="topological_order", points=3, cases=_topo_cases, outputs=("order",),
        compare=_compare_topological,
        mistakes={
            'preorder': 'each node is appended BEFORE its parents are visited, so it comes before them: append a '
                        'node only after the visits of all of its parents have returned',
            'no_visited': 'a node that two others use is appended once per use: remember which nodes were already '
                          'visited'
        },
        nudge="A node may be listed only after every node it was computed from, and a node that two others use "
              "must still appear once.",
        hint="Depth-first search from the root: visit all parents of a node first, then append the node; keep a "
             "set of visited nodes so a node used twice is appended once. The root is appended last."),
    Exercise(
        name="pow_backward", points=1, cases=_pow_cases, outputs=("grad_a",),
        nudge="The power rule: the derivative of a**p with respect to a is p times a to one power less.",
        hint="grad_a = grad_out * p * a ** (p - 1) (for p = 0 the power is constant and the gradient is 0).",
        mistakes={
            'no_minus_one': 'the power is not lowered by one: d(a^p)/da = p a^(p-1)',
            'no_p': 'the factor p in front is missing'
        }),
    Exercise(
        name="reverse_mode", points=3, cases=_reverse_cases, outputs=("leaf_grads",),
        nudge="Start from a gradient of ones at the last node and walk the list backwards; ADD each "
              "contribution into its parent's gradient (+=), never assign: a node used twice, or used by two "
              "operations, must receive both contributions.",
        hint="grads = zeros for every node, ones for the last; for name, op, parents in reversed(nodes): "
             "add -> each parent += g; mul (a, b) -> grads[a] += g * values[b] and grads[b] += g * values[a] "
             "(this also works when a is b); tanh -> parent += g * (1 - values[name] ** 2). Return "
             "np.stack of the leaves' gradients in their order in nodes.",
        mistakes={
            'assign': "contributions are ASSIGNED to a parent's gradient: a node used twice, or by two operations, "
                      'keeps only the last one; they must be added',
            'tanh_input': "the tanh's derivative is computed from its INPUT: 1 - tanh(z)^2 needs the output, values "
                          'of the tanh node itself'
        }),
    Question(
        name="q_bias_grad", points=1, kind="number",
        prompt="b.grad[0] after (a + b).sum().backward() with a of shape (3, 4) and b of shape (4,)",
        explanation="broadcasting uses every entry of b once per row of a, 3 times, and each use contributes "
                    "a gradient of 1, so unbroadcast sums them: 3."),
    Question(
        name="q_backward_three_times", points=1, kind="number",
        prompt="x.grad[0, 0] after calling L.backward() three times (no zero_grad) on x = [[1, 2]], "
               "w = [[3], [0]], h = x @ w, L = (h * h).sum()",
        explanation="one call gives dL/dx = 2 h w^T = 2 * 3 * [3, 0] = [18, 0]; leaves accumulate across calls "
                    "and each call recomputes h's gradient afresh, so three calls give 3 * 18 = 54."),
    Question(
        name="q_forward_reverse_ratio", points=1, kind="number", rtol=0.01,
        prompt="the ratio of multiply-adds, forward mode over reverse mode, that chain_gradient of section "
               "A1.1 counts for K = 6 square Jacobians of size n = 50",
        explanation="forward mode: K n^3 for the products plus n^2 for the final vector-matrix product, "
                    "6 * 125,000 + 2,500 = 752,500; reverse mode: K n^2 = 15,000; the ratio is about 50.2, "
                    "close to n."),
    Experiment(
        name="fit_xor", points=3,
        prompt="a training function fit_xor(seed) that returns the parameters W1 (2, H), b1 (H,), w2 (H,), b2 of "
               "y = sigmoid(tanh(X @ W1 + b1) @ w2 + b2) fitted to XOR, with gradients from reverse mode",
        measure=xor_error, target=0.01, lower_is_better=True, seeds=(0, 1, 2), budget_s=20,
        unit="mean squared error on XOR",
        nudge="Start from small random weights drawn with np.random.default_rng(seed) (all-zero weights keep "
              "the hidden units identical), and take enough steps: a few thousand full-batch steps are cheap."),
    Choice(
        name="c_creation_order", points=1,
        prompt="if every Tensor were appended to a global list when it is created, and backward() walked that list "
               "in reverse instead of sorting the graph, what would the gradients of a loss built in one forward "
               "pass be",
        options={"same": "",
                 "shared_wrong": "accumulation, not the order, gives a shared tensor all of its contributions; "
                                 "the order only has to bring every user before the tensor it uses",
                 "order_wrong": "which tensor could use another one that was created after it?",
                 "error": "nothing in walking a list fails; the question is whether its order is right"},
        explanation="a tensor can only be created after the tensors it is computed from, so the order of creation "
                    "already lists parents before children: it is a topological order, and its reverse visits every "
                    "node after all of its users. Engines that record such a tape work this way; tensors that do "
                    "not lead to the loss are visited too, at a cost but with no effect."),
    Choice(
        name="c_inplace_update", points=1,
        prompt="after L = (x @ W).sum() and before L.backward(), the code changes the weights in place with "
               "W.data -= 1.0: what does x.grad hold after L.backward()",
        options={"new": "",
                 "old": "the product's backward reads W's array when it runs, not when the graph was built: "
                        "nothing kept a copy",
                 "zero": "the gradient of x through x @ W is grad_out @ W.T, and W is not zero",
                 "error": "the engine does not notice that an array changed under it"},
        explanation="the closure that @ attaches keeps a reference to W's array, not a copy, so the in-place "
                    "change reaches the backward pass: x.grad follows the new W while L was computed with the old "
                    "one. Frameworks such as PyTorch keep a version counter on every tensor to catch this; a "
                    "minimal engine does not."),
]
