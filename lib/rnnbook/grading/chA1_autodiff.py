"""Graded exercises of appendix A1 (an automatic-differentiation engine)."""
from __future__ import annotations

import numpy as np

from .core import Exercise


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


EXERCISES = [
    Exercise(
        name="unbroadcast", points=2, cases=_unbroadcast_cases, outputs=("grad_in",),
        library="rnnbook.autograd.unbroadcast",
        hint="Sum over the leading axes that broadcasting added (grad.ndim - len(shape) of them), then over "
             "every axis where shape has size 1, with keepdims=True so the result has exactly `shape`."),
    Exercise(
        name="mul_backward", points=1, cases=_mul_cases, outputs=("grad_a", "grad_b"),
        library="rnnbook.autograd.mul_backward",
        hint="Each factor's gradient is grad_out times the OTHER factor: grad_a = grad_out * b."),
    Exercise(
        name="matmul_backward", points=2, cases=_matmul_cases, outputs=("grad_a", "grad_b"),
        axes={"grad_a": ("row", "column"), "grad_b": ("row", "column")},
        library="rnnbook.autograd.matmul_backward",
        hint="Let the shapes guide you: grad_a must be (N, K) = (N, M) @ (M, K), so grad_out @ b.T; "
             "grad_b must be (K, M) = (K, N) @ (N, M), so a.T @ grad_out."),
    Exercise(
        name="sigmoid_backward", points=1, cases=_sigmoid_cases, outputs=("grad_in",),
        library="rnnbook.autograd.sigmoid_backward",
        hint="The derivative of the sigmoid is sigma (1 - sigma), and `out` already IS sigma(z): do not apply "
             "the sigmoid again. Multiply by grad_out."),
    Exercise(
        name="topological_order", points=3, cases=_topo_cases, outputs=("order",),
        compare=_compare_topological,
        hint="Depth-first search from the root: visit all parents of a node first, then append the node; keep a "
             "set of visited nodes so a node used twice is appended once. The root is appended last."),
]
