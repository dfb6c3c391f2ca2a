"""The book's diagrams (rnnbook.viz): drawn by code in one style, with the shapes on the arrows."""
import matplotlib

matplotlib.use("Agg")      # unit tests draw off-screen; notebooks keep their inline backend
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnbook import viz  # noqa: E402


def texts(ax):
    return [t.get_text() for t in ax.texts]


def arrow_colours(ax):
    """(colour, line width) of every arrow drawn with viz.arrow."""
    out = []
    for a in ax.texts:
        patch = getattr(a, "arrow_patch", None)
        if patch is not None:
            out.append((mcolors.to_hex(patch.get_edgecolor()), patch.get_linewidth()))
    return out


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def test_gate_colours_are_four_distinct_in_book_order():
    assert list(viz.GATE_COLOURS) == ["f", "i", "g", "o"]
    assert list(viz.GATE_NAMES) == ["f", "i", "g", "o"]
    assert len(set(viz.GATE_COLOURS.values())) == 4
    assert viz.CELL_STATE_COLOUR not in viz.GATE_COLOURS.values()
    assert viz.SHAPE_FONT_SIZE >= 9


def test_lstm_cell_has_the_book_notation_and_shapes(ax):
    viz.draw_lstm_cell(ax)
    t = texts(ax)
    assert any("x_t W_x + h_{t-1} W_h + b" in s for s in t)
    assert any("(N, 4H)" in s and "f | i | g | o" in s for s in t)
    assert "$x_t$ (N, D)" in t and "$h_{t-1}$ (N, H)" in t and "$c_{t-1}$ (N, H)" in t
    assert "$c_t$ (N, H)" in t and "$h_t$ (N, H)" in t
    # every arrow carries its shape
    arrows = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None]
    assert len(arrows) == sum("(N, " in s for s in t if not s.startswith("$a ="))
    # the four gates in their colours, in the order f, i, g, o from left to right
    gate_boxes = [(a.get_position()[0], a.get_text()[0]) for a in ax.texts if a.get_text()[1:3] == ": "]
    assert [g for _, g in sorted(gate_boxes)] == ["f", "i", "g", "o"]
    colours = {c for c, _ in arrow_colours(ax)}
    assert {c.lower() for c in viz.GATE_COLOURS.values()} <= colours
    # the cell state's path is thicker than every other arrow
    cell = [w for c, w in arrow_colours(ax) if c == viz.CELL_STATE_COLOUR.lower()]
    others = [w for c, w in arrow_colours(ax) if c != viz.CELL_STATE_COLOUR.lower()]
    assert max(cell) > max(others)


def test_lstm_cell_without_shapes(ax):
    viz.draw_lstm_cell(ax, show_shapes=False)
    assert not any("(N, H)" in s for s in texts(ax))


def test_unrolled_rnn_shapes_and_states(ax):
    viz.draw_unrolled(ax, ["a", "b", "c"], outputs=["b", "c", "d"])
    t = texts(ax)
    assert t.count("(N, D)") == 3 and t.count("(N, H)") == 3 and t.count("(N, V)") == 3
    assert {"$h_{-1}=0$", "$h_{0}$", "$h_{1}$", "$x_{2}$"} <= set(t)
    assert t.count("RNN") == 3


def test_unrolled_backward_and_no_shapes(ax):
    viz.draw_unrolled(ax, ["a", "b"], show_backward=True, shapes=None, cell="LSTM")
    t = texts(ax)
    assert "(N, H)" not in t and t.count("LSTM") == 2
    dashed = [a for a in ax.texts if getattr(a, "arrow_patch", None) is not None
              and a.arrow_patch.get_linestyle() != "-"]
    assert len(dashed) == 1


@pytest.mark.parametrize("kwargs, message", [
    (dict(inputs=[]), "at least one"),
    (dict(inputs=["a", "b"], outputs=["x"]), "one per step"),
    (dict(inputs=["a"], shapes=("(N, D)",)), "three strings"),
])
def test_unrolled_bad_input(ax, kwargs, message):
    with pytest.raises(ValueError, match=message):
        viz.draw_unrolled(ax, **kwargs)


def test_next_token_heat_map_checks_its_shape(ax):
    with pytest.raises(ValueError, match="shape"):
        viz.plot_next_token_distributions(ax, np.ones((2, 3)), ["a"], ["x", "y", "z"])


def test_stacked_lm_diagram_shows_tying_and_dropout(ax):
    from rnnbook.viz import draw_stacked_lm
    draw_stacked_lm(ax, ["the", "value", "is"], num_layers=2)
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("LSTM 1") == 3 and texts.count("LSTM 2") == 3 and texts.count("drop") == 9
    assert "p(is)" in texts and any("tied" in t for t in texts)
    with pytest.raises(ValueError):
        draw_stacked_lm(ax, ["the"])


@pytest.mark.parametrize("attention", [False, True])
def test_captioner_diagram(ax, attention):
    viz.draw_captioner(ax, attention=attention, words=["<start>", "a"], outputs=["a", "red"])
    t = texts(ax)
    assert t.count("LSTM") == 2 and "image" in t and "CNN\nencoder" in t and "$h_0$ (N, H)" in t
    assert {"<start>", "a", "red"} <= set(t)
    assert (t.count("Σ") == 2) == attention and any("annotations" in s for s in t) == attention
    with pytest.raises(ValueError, match="as many outputs"):
        viz.draw_captioner(ax, words=["a"], outputs=[])


@pytest.mark.parametrize("kind", sorted(viz.SEQUENCE_SHAPES))
def test_sequence_shapes_draw_their_inputs_and_outputs(ax, kind):
    viz.draw_sequence_shape(ax, kind)
    reads, writes, _ = viz.SEQUENCE_SHAPES[kind]
    t = texts(ax)
    assert t.count("x") == sum(reads) and t.count("y") == sum(writes)
    with pytest.raises(ValueError, match="kind must be one of"):
        viz.draw_sequence_shape(ax, "many-to-few")
