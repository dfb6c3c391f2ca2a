"""Feedback that diagnoses before it tells: every output judged, gate blocks named, nudge before the
formula, code that rebuilds a large case, fair grading of dependent functions, graded questions."""
import contextlib
import io

import numpy as np

from rnnbook import grading
from rnnbook.grading.core import HINT_AFTER, Question, grade_question, run_exercise


def spec(chapter, name):
    return {e.name: e for e in grading.exercises_for(chapter)}[name]


def ref(chapter, name):
    return grading.reference_functions(chapter)[name]


def buggy_backward(bug):
    """The reference LSTM step backward with one planted bug."""
    good = ref("03_lstm", "lstm_step_backward")

    def lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b):
        dx, dh_prev, dc_prev, dWx, dWh, db = good(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b)
        H = h_prev.shape[1]
        if bug == "g block":
            dWx, dWh, db = dWx.copy(), dWh.copy(), db.copy()
            dWx[:, 2 * H:3 * H] *= 2
            dWh[:, 2 * H:3 * H] *= 2
            db[2 * H:3 * H] *= 2
        elif bug == "dc_prev":
            dc_prev = dc_prev * 0
        return dx, dh_prev, dc_prev, dWx, dWh, db
    return lstm_step_backward


def test_every_output_is_judged_and_gate_blocks_are_named():
    r = run_exercise(spec("03_lstm", "lstm_step_backward"), buggy_backward("g block"),
                     ref("03_lstm", "lstm_step_backward"))
    assert r.score == 0
    assert "3 of 6 outputs are wrong: dWx, dWh, db (right: dx, dh_prev, dc_prev)" in r.feedback
    assert "gate block g (columns [2H:3H])" in r.feedback
    r2 = run_exercise(spec("03_lstm", "lstm_step_backward"), buggy_backward("dc_prev"),
                      ref("03_lstm", "lstm_step_backward"))
    assert "1 of 6 outputs are wrong: dc_prev" in r2.feedback and r2.feedback != r.feedback


def test_nudge_first_formula_after_repeated_failures():
    ex = spec("03_lstm", "lstm_step_backward")
    first = run_exercise(ex, buggy_backward("dc_prev"), ref("03_lstm", "lstm_step_backward"), attempt=1)
    later = run_exercise(ex, buggy_backward("dc_prev"), ref("03_lstm", "lstm_step_backward"), attempt=HINT_AFTER)
    assert "nudge:" in first.feedback and "dc_prev = dc * f" not in first.feedback
    assert "hint:" in later.feedback and "dc_prev = dc * f" in later.feedback

    grader = grading.Grader("03_lstm")
    out = []
    for _ in range(HINT_AFTER):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            grader.check(buggy_backward("dc_prev"))
        out.append(buf.getvalue())
    assert "nudge:" in out[0] and "hint:" in out[-1]


def test_large_failing_cases_print_code_that_rebuilds_them():
    ex = spec("03_lstm", "lstm_forward")
    good = ref("03_lstm", "lstm_forward")

    def lstm_forward(xs, h0, c0, Wx, Wh, b):
        hs, cs = good(xs, h0, c0, Wx, Wh, b)
        if xs.shape[1] > 2:
            hs = hs + 1
        return hs, cs
    r = run_exercise(ex, lstm_forward, good, chapter="03_lstm")
    assert "rebuild_case('03_lstm', 'lstm_forward', 2)" in r.feedback
    kwargs = grading.rebuild_case("03_lstm", "lstm_forward", 2)
    assert np.array_equal(kwargs["xs"], ex.make_cases()[1]["xs"])


def test_dependent_function_is_graded_with_the_reference_dependency():
    g = grading.Grader("03_lstm")
    ns = {"np": np}
    exec("def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):\n    return h_prev, c_prev\n", ns)
    exec(
        "def lstm_forward(xs, h0, c0, Wx, Wh, b):\n"
        "    hs, cs, h, c = [], [], h0, c0\n"
        "    for t in range(xs.shape[1]):\n"
        "        h, c = lstm_step_forward(xs[:, t], h, c, Wx, Wh, b)\n"
        "        hs.append(h); cs.append(c)\n"
        "    return np.stack(hs, 1), np.stack(cs, 1)\n", ns)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        g.check(ns["lstm_forward"])
    assert g.last_result.status == "passed"
    assert "fix `lstm_step_forward` first" in buf.getvalue()


def test_questions_number_shape_choice():
    q = Question("q", 1, "shape", "shape of dWh", "dWh is (H, 4H).")
    assert grade_question(q, (4, 16), (4, 16)).score == 1
    r = grade_question(q, (4, 16), (16, 4))
    assert r.score == 0 and "(4, 16)" not in r.feedback and "(H, 4H)" not in r.feedback   # never the answer
    assert "dWh is (H, 4H)." in grade_question(q, (4, 16), (4, 16)).feedback                # once right
    assert grade_question(q, (4, 16), Ellipsis).status == "not implemented"
    q = Question("q", 1, "choice", "which gate", "the forget gate carries memory.", options=("f", "i", "g", "o"))
    assert grade_question(q, "f", "f").score == 1
    assert "should be one of" in grade_question(q, "f", "x").feedback
    q = Question("q", 2, "number", "params", "12 + 16 + 4.")
    assert grade_question(q, 32, 32.0).score == 2 and grade_question(q, 32, 33).score == 0
    assert "32" not in grade_question(q, 32, 33).feedback and "12 + 16" not in grade_question(q, 32, 33).feedback


def test_a_string_is_not_a_number_and_huge_answers_are_echoed_capped():
    q = Question("q", 1, "number", "params", "12 + 16 + 4.")
    r = grade_question(q, 32, "32")
    assert r.score == 0 and "should be a number" in r.feedback
    assert grade_question(q, 32, True).score == 0                    # a bool is not a number either
    huge = "x" * 5_000_000
    assert len(grade_question(q, 32, huge).feedback) < 1000
    shape = Question("s", 1, "shape", "shape", "because.")
    assert len(grade_question(shape, (4, 16), tuple(range(10 ** 6))).feedback) < 1000
    ex = spec("01_rnn", "softmax")
    r = run_exercise(ex, lambda x: "y" * 5_000_000, ref("01_rnn", "softmax"))
    assert r.score == 0 and len(r.feedback) < 3000
    r = run_exercise(ex, lambda x: (_ for _ in ()).throw(ValueError("z" * 5_000_000)), ref("01_rnn", "softmax"))
    assert r.score == 0 and len(r.feedback) < 3000


def test_gru_backward_feedback_names_the_block_where_r_was_forgotten():
    # A classic GRU bug: the hidden side of the candidate gets da_n instead of da_n * r.
    good = ref("03_lstm", "gru_step_backward")

    def gru_step_backward(dh_next, x, h_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        ax, ah = x @ Wx + b, h_prev @ Wh
        r = 1 / (1 + np.exp(-(ax[:, :H] + ah[:, :H])))
        n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
        z = 1 / (1 + np.exp(-(ax[:, H:2 * H] + ah[:, H:2 * H])))
        dx, dh_prev, dWx, dWh, db = good(dh_next, x, h_prev, Wx, Wh, b)
        da_n = dh_next * (1 - z) * (1 - n ** 2)
        extra = da_n * (1 - r)                    # the part of da_n that r should have removed
        dWh = dWh.copy()
        dWh[:, 2 * H:] += h_prev.T @ extra
        return dx, dh_prev + extra @ Wh[:, 2 * H:].T, dWx, dWh, db

    r = run_exercise(spec("03_lstm", "gru_step_backward"), gru_step_backward, good)
    assert r.score == 0
    assert "dh_prev, dWh" in r.feedback and "block n" in r.feedback


def test_fixed_gate_scores_zero_for_the_ordinary_step():
    step = ref("03_lstm", "lstm_step_forward")
    r = run_exercise(spec("03_lstm", "lstm_step_fixed_gate"),
                     lambda x, h_prev, c_prev, Wx, Wh, b, gate, value: step(x, h_prev, c_prev, Wx, Wh, b),
                     ref("03_lstm", "lstm_step_fixed_gate"))
    assert r.score == 0 and "nudge:" in r.feedback
