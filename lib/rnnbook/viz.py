"""Plots shared by several chapters, and the book's architecture diagrams.

The diagrams are drawn by code, in one style, so that every chapter's figures agree:

* one colour per LSTM gate, the same everywhere (:data:`GATE_COLOURS`: forget, input, candidate,
  output, in the book's gate order f, i, g, o);
* the shape of every array written on the arrow that carries it (row vectors, batch first:
  ``(N, D)`` inputs, ``(N, H)`` states);
* the cell state drawn as a thick line of its own colour (:data:`CELL_STATE_COLOUR`), so its path
  through an LSTM stands out from the hidden state's.

A chapter that adds a diagram builds it from the small helpers here (:func:`arrow`, :func:`node`,
:func:`block`) with these colours.
"""
from __future__ import annotations

from functools import partial
from typing import Sequence

import numpy as np

__all__ = ["GATE_COLOURS", "GATE_NAMES", "CELL_STATE_COLOUR", "HIDDEN_COLOUR", "OUTPUT_COLOUR",
           "arrow", "node", "block", "draw_unrolled", "draw_lstm_cell", "plot_next_token_distributions",
           "draw_stacked_lm", "draw_captioner", "GRU_GATE_COLOURS", "draw_lstm_backward", "draw_gru_cell",
           "draw_encoder_decoder", "draw_attention_step"]

#: Colour of each LSTM gate, keyed by its letter in the book's gate order f, i, g, o (the
#: Okabe-Ito palette, which stays distinguishable for the common forms of colour blindness).
GATE_COLOURS = {"f": "#0072B2", "i": "#009E73", "g": "#E69F00", "o": "#CC79A7"}
#: What each gate letter stands for.
GATE_NAMES = {"f": "forget", "i": "input", "g": "candidate", "o": "output"}
#: The cell state's path (drawn thick); the hidden state and the inputs; what a step predicts.
CELL_STATE_COLOUR = "#B8860B"
HIDDEN_COLOUR = "#34495E"
OUTPUT_COLOUR = "#8A2C2C"
CELL_STATE_WIDTH, LINE_WIDTH = 4.0, 1.5
FONT_SIZE, SHAPE_FONT_SIZE = 11, 9      # shapes stay >= 9 pt at the page's content width


def arrow(ax, start, end, label=None, *, colour=HIDDEN_COLOUR, width=LINE_WIDTH, label_pos=0.5,
          label_offset=(0.0, 0.0), dashed=False):
    """Draw an arrow from ``start`` to ``end`` (data coordinates), with ``label`` (a shape such as
    ``"(N, H)"``) written on it at the fraction ``label_pos`` of its length."""
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=colour, lw=width, shrinkA=0, shrinkB=0,
                                mutation_scale=12 + 2 * width, ls="--" if dashed else "-"))
    if label:
        x = start[0] + label_pos * (end[0] - start[0]) + label_offset[0]
        y = start[1] + label_pos * (end[1] - start[1]) + label_offset[1]
        ax.text(x, y, label, ha="center", va="center", fontsize=SHAPE_FONT_SIZE, color=colour,
                bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"), zorder=5)


def node(ax, xy, symbol, *, colour=HIDDEN_COLOUR, radius=0.22):
    """A small circle holding an elementwise operation (``"×"``, ``"+"``)."""
    from matplotlib.patches import Circle
    ax.add_patch(Circle(xy, radius, fc="white", ec=colour, lw=LINE_WIDTH, zorder=4))
    ax.text(*xy, symbol, ha="center", va="center", fontsize=FONT_SIZE + 1, color=colour, zorder=6)


def block(ax, xy, text, *, colour=HIDDEN_COLOUR, width=1.0, height=0.6, fill=None, text_colour="black"):
    """A rounded box centred on ``xy`` (a layer, a gate's nonlinearity)."""
    from matplotlib.patches import FancyBboxPatch
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.12", fc=fill or "white", ec=colour,
                                lw=LINE_WIDTH, zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT_SIZE, color=text_colour, zorder=6)


def draw_unrolled(ax, inputs: Sequence[str], outputs: Sequence[str] | None = None, *, cell: str = "RNN",
                  state: str = "h", show_backward: bool = False,
                  shapes: Sequence[str] | None = ("(N, D)", "(N, H)", "(N, V)"), first_step: int = 0):
    """Draw a recurrent network unrolled over time on a matplotlib ``ax``.

    One box per time step (the same weights :math:`W_x, W_h, b` in every box), the input token
    below it, the prediction above it (when ``outputs`` is given), and the hidden state passed from
    left to right; with ``show_backward``, the gradient passed back from right to left, and from each
    step's output down into its state, as dashed arrows. ``shapes`` are written on the input, state and
    output arrows (pass ``None`` to omit them). Steps are numbered from ``first_step``: the first input is
    labelled ``x_{first_step}`` and the initial state ``h_{first_step - 1} = 0`` (chapters 1 and 2 count
    steps from 1). Returns ``ax``.
    """
    inputs = list(inputs)
    if not inputs:
        raise ValueError("draw_unrolled needs at least one input token")
    if outputs is not None and len(outputs) != len(inputs):
        raise ValueError(f"outputs has {len(outputs)} entries but inputs has {len(inputs)}: give one per step")
    if shapes is not None and len(shapes) != 3:
        raise ValueError("shapes must be three strings (input, state, output), or None")
    x_shape, h_shape, y_shape = shapes if shapes is not None else (None, None, None)
    step, half_w, half_h = 2.4, 0.6, 0.4
    T = len(inputs)
    ax.set_xlim(-1.9, (T - 1) * step + 1.0)
    ax.set_ylim(-2.0, 2.2 if outputs is not None else 0.9)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for t, tok in enumerate(inputs):
        x = t * step
        block(ax, (x, 0), cell, width=2 * half_w, height=2 * half_h, fill="#EAF1F8")
        ax.text(x, -1.8, str(tok), ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        arrow(ax, (x, -1.55), (x, -half_h), x_shape)
        ax.text(x + 0.12, -half_h - 0.25, f"$x_{{{t + first_step}}}$", ha="left", va="center", fontsize=SHAPE_FONT_SIZE)
        if outputs is not None:
            arrow(ax, (x - 0.15 * show_backward, half_h), (x - 0.15 * show_backward, 1.55), y_shape,
                  colour=OUTPUT_COLOUR)
            if show_backward:                          # each step's own loss sends its gradient down into h_t
                arrow(ax, (x + 0.42, 1.55), (x + 0.42, half_h), colour="#C0392B", dashed=True, width=1.2)
            ax.text(x, 1.85, str(outputs[t]), ha="center", va="center", fontsize=FONT_SIZE, family="monospace",
                    color=OUTPUT_COLOUR)
        start = -1.8 if t == 0 else x - step + half_w
        arrow(ax, (start, 0), (x - half_w, 0), h_shape)
        name = f"${state}_{{{t + first_step - 1}}}" + ("=0$" if t == 0 else "$")
        ax.text((start + x - half_w) / 2, 0.28, name, ha="center", va="bottom", fontsize=SHAPE_FONT_SIZE)
        if show_backward and t > 0:
            arrow(ax, (x - half_w, -0.3), (x - step + half_w, -0.3), colour="#C0392B", dashed=True,
                  width=1.2)
    return ax


def draw_lstm_cell(ax, *, show_shapes: bool = True):
    """Draw one LSTM step in the book's notation on a matplotlib ``ax``.

    Row vectors, batch first: one product :math:`a = x_t W_x + h_{t-1} W_h + b` of shape
    ``(N, 4H)`` is split into the blocks of the gates f, i, g, o (in that order, each in its
    :data:`GATE_COLOURS` colour); then :math:`c_t = f \\odot c_{t-1} + i \\odot g` along the cell
    state's thick path and :math:`h_t = o \\odot \\tanh(c_t)`. Every arrow carries its shape
    (``show_shapes=False`` leaves them off). Returns ``ax``.
    """
    H = "(N, H)" if show_shapes else None
    y_cell, y_gate, y_aff = 6.2, 3.0, 1.4
    gate_x = {"f": 3.0, "i": 4.4, "g": 5.8, "o": 7.2}
    ax.set_xlim(-0.1, 10.1)
    ax.set_ylim(-0.8, 6.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    # the cell state: one thick path from left to right, touched only by a product and a sum
    forget_x, add_x, out_x = gate_x["f"], 5.1, 8.4
    cell = dict(colour=CELL_STATE_COLOUR, width=CELL_STATE_WIDTH)
    arrow(ax, (0.1, y_cell), (forget_x - 0.22, y_cell), f"$c_{{t-1}}$ {H or ''}".strip(), **cell)
    arrow(ax, (forget_x + 0.22, y_cell), (add_x - 0.22, y_cell), H, **cell)
    arrow(ax, (add_x + 0.22, y_cell), (10.0, y_cell), f"$c_t$ {H or ''}".strip(), label_pos=0.33, **cell)
    node(ax, (forget_x, y_cell), "×", colour=CELL_STATE_COLOUR)
    node(ax, (add_x, y_cell), "+", colour=CELL_STATE_COLOUR)
    # the fused affine map and its four gate blocks
    block(ax, (5.2, y_aff), "$a = x_t W_x + h_{t-1} W_h + b$\n(N, 4H): blocks f | i | g | o", width=6.4,
          height=0.9, fill="#F4F6F7")
    arrow(ax, (0.1, y_aff), (2.0, y_aff), f"$h_{{t-1}}$ {H or ''}".strip())
    arrow(ax, (3.6, -0.6), (3.6, y_aff - 0.45), f"$x_t$ {'(N, D)' if show_shapes else ''}".strip())
    for g, x in gate_x.items():
        colour = GATE_COLOURS[g]
        arrow(ax, (x, y_aff + 0.45), (x, y_gate - 0.3), H, colour=colour)
        block(ax, (x, y_gate), f"{g}: {'tanh' if g == 'g' else 'σ'}", colour=colour, width=1.1, height=0.6,
              fill=colour, text_colour="white")
    # f scales the old cell state; i scales the candidate g; their product is added
    arrow(ax, (forget_x, y_gate + 0.3), (forget_x, y_cell - 0.22), H, colour=GATE_COLOURS["f"])
    y_ig = 4.5
    arrow(ax, (gate_x["i"], y_gate + 0.3), (add_x - 0.16, y_ig - 0.16), H, colour=GATE_COLOURS["i"],
          label_offset=(-0.45, 0))
    arrow(ax, (gate_x["g"], y_gate + 0.3), (add_x + 0.16, y_ig - 0.16), H, colour=GATE_COLOURS["g"],
          label_offset=(0.45, 0))
    node(ax, (add_x, y_ig), "×")
    arrow(ax, (add_x, y_ig + 0.22), (add_x, y_cell - 0.22), H)
    # the output: h_t = o * tanh(c_t)
    y_tanh, y_out = 5.2, 4.0
    arrow(ax, (out_x, y_cell), (out_x, y_tanh + 0.25), H, colour=CELL_STATE_COLOUR, width=2.0,
          label_offset=(0.55, 0))
    block(ax, (out_x, y_tanh), "tanh", width=0.9, height=0.5)
    arrow(ax, (out_x, y_tanh - 0.25), (out_x, y_out + 0.22), H)
    arrow(ax, (gate_x["o"], y_gate + 0.3), (out_x - 0.17, y_out - 0.14), H, colour=GATE_COLOURS["o"],
          label_offset=(-0.3, 0.1))
    node(ax, (out_x, y_out), "×")
    arrow(ax, (out_x + 0.22, y_out), (10.0, y_out), f"$h_t$ {H or ''}".strip(), label_pos=0.55,
          label_offset=(0, 0.32))
    # a legend naming the gates in their colours
    for k, g in enumerate(GATE_COLOURS):
        ax.text(5.4 + 1.3 * k, -0.45, GATE_NAMES[g], ha="center", va="center", fontsize=SHAPE_FONT_SIZE,
                color=GATE_COLOURS[g], fontweight="bold")
    return ax


def plot_next_token_distributions(ax, probs: np.ndarray, context: Sequence[str], vocab: Sequence[str]):
    """Heat map of next-token probabilities: one column per position of ``context``.

    ``probs`` has shape ``(T, V)``; column ``t`` is the model's distribution
    over the token that follows ``context[: t + 1]``.
    """
    probs = np.asarray(probs)
    if probs.ndim != 2 or probs.shape != (len(context), len(vocab)):
        raise ValueError(f"probs must have shape ({len(context)}, {len(vocab)}), got {probs.shape}")
    im = ax.imshow(probs.T, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(context)), [f"{c!r}\nt={t}" for t, c in enumerate(context)], rotation=0)
    ax.set_yticks(range(len(vocab)), [repr(v) for v in vocab])
    ax.set_xlabel("last token read")
    ax.set_ylabel("next token")
    for t in range(probs.shape[0]):
        for v in range(probs.shape[1]):
            if probs[t, v] >= 0.05:
                ax.text(t, v, f"{probs[t, v]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if probs[t, v] > 0.6 else "black")
    return im


# ------------------------------------------------------------------ chapter 4: the stacked language model
DROPOUT_COLOUR = "#7F8C8D"


def draw_stacked_lm(ax, tokens: Sequence[str] = ("the", "value", "is"), *, num_layers: int = 2):
    """Draw chapter 4's language model unrolled over ``tokens``: embedding, dropout on the connections
    between layers only (grey dashed boxes), ``num_layers`` LSTM layers whose states run left to right with
    no dropout, and the tied output layer that reuses the embedding matrix ``E``. Returns ``ax``."""
    tokens = list(tokens)
    if len(tokens) < 2 or num_layers < 1:
        raise ValueError("draw_stacked_lm needs at least two tokens and one layer")
    step, T = 2.6, len(tokens)
    rows = ["E"] + [f"LSTM {k + 1}" for k in range(num_layers)] + ["Eᵀ"]
    ys = [1.6 * k for k in range(len(rows))]
    ax.set_xlim(-2.9, (T - 1) * step + 1.4)
    ax.set_ylim(-1.3, ys[-1] + 1.6)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for t, tok in enumerate(tokens):
        x = t * step
        ax.text(x, -1.0, tok, ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        arrow(ax, (x, -0.75), (x, ys[0] - 0.3))
        for r, (name, y) in enumerate(zip(rows, ys)):
            shared = name in ("E", "Eᵀ")
            block(ax, (x, y), name, width=1.3, height=0.6, fill="#FDF2D0" if shared else "#EAF1F8")
            if r + 1 < len(rows):                         # dropout on the way up, between layers
                mid = (y + ys[r + 1]) / 2
                block(ax, (x, mid), "drop", width=0.75, height=0.32, colour=DROPOUT_COLOUR,
                      text_colour=DROPOUT_COLOUR)
                arrow(ax, (x, y + 0.3), (x, mid - 0.16), colour=DROPOUT_COLOUR)
                arrow(ax, (x, mid + 0.16), (x, ys[r + 1] - 0.3))
            if name.startswith("LSTM") and t + 1 < T:     # the recurrent state: no dropout on it
                arrow(ax, (x + 0.65, y), (x + step - 0.65, y), "$h, c$", label_offset=(0, 0.25))
        nxt = tokens[t + 1] if t + 1 < T else "?"
        arrow(ax, (x, ys[-1] + 0.3), (x, ys[-1] + 0.95), colour=OUTPUT_COLOUR)
        ax.text(x, ys[-1] + 1.25, f"p({nxt})", ha="center", va="center", fontsize=SHAPE_FONT_SIZE,
                color=OUTPUT_COLOUR)
    ax.annotate("", xy=(-0.7, ys[-1]), xytext=(-0.7, ys[0]),
                arrowprops=dict(arrowstyle="<->", color=CELL_STATE_COLOUR, lw=LINE_WIDTH, ls="--",
                                connectionstyle="bar,fraction=-0.1"))
    ax.text(-2.05, (ys[0] + ys[-1]) / 2, "one matrix E\n(tied)", ha="center", va="center",
            fontsize=SHAPE_FONT_SIZE, color=CELL_STATE_COLOUR)


# ---------------------------------------------------------------------------------------------- chapter 6
def draw_captioner(ax, *, attention: bool = False, words: Sequence[str] = ("<start>", "a", "small"),
                   outputs: Sequence[str] = ("a", "small", "red")):
    """Draw chapter 6's captioner: image -> CNN -> features -> bridge -> LSTM decoder, one box per word.

    With ``attention``, the CNN's last feature map also becomes a grid of annotation vectors, and every
    decoder step reads a weighted average of them (the node ``Σ``) beside its own state before it
    predicts its word. Returns ``ax``.
    """
    words, outputs = list(words), list(outputs)
    if not words or len(words) != len(outputs):
        raise ValueError("draw_captioner needs as many outputs as input words (at least one)")
    step, x0 = 2.1, 8.6
    top = 4.3 if attention else 2.4
    ax.set_xlim(-0.9, x0 + (len(words) - 1) * step + 1.0)
    ax.set_ylim(-2.1, top)
    ax.set_aspect("equal")
    ax.set_axis_off()
    block(ax, (0, 0), "image", width=1.3, height=1.0, fill="#F2F2F2")
    ax.text(0, -0.75, "(N, C, H, W)", ha="center", va="center", fontsize=SHAPE_FONT_SIZE)
    block(ax, (2.3, 0), "CNN\nencoder", width=1.4, height=1.0, fill="#F2F2F2")
    arrow(ax, (0.65, 0), (1.6, 0))
    block(ax, (5.3, 0), "bridge\ntanh(vW + b)", width=2.1, height=1.0, fill="#EAF1F8")
    arrow(ax, (3.0, 0), (4.25, 0), "v (N, F)")
    arrow(ax, (6.35, 0), (x0 - 0.6, 0), "$h_0$ (N, H)", label_pos=0.5)
    if attention:                         # the feature map's S locations as annotation vectors
        gx, gy, cell = 2.3, 2.2, 0.4
        for r in range(2):
            for c in range(4):
                block(ax, (gx - 1.5 * cell + c * cell, gy + cell / 2 - r * cell), "", width=cell * 0.9,
                      height=cell * 0.9, fill="#FBE3C0", colour=GATE_COLOURS["g"])
        ax.text(gx + 0.6, gy + 0.8, "annotations $a_s = \\tanh(g_s W_p + P_s)$, (N, S, H)", ha="center",
                va="center", fontsize=SHAPE_FONT_SIZE)
        arrow(ax, (2.3, 0.5), (2.3, gy - 0.45), "feature map", colour=GATE_COLOURS["g"])
    for t, (word, out) in enumerate(zip(words, outputs)):
        x = x0 + t * step
        block(ax, (x, 0), "LSTM", width=1.2, height=0.8, fill="#EAF1F8")
        ax.text(x, -1.8, word, ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        arrow(ax, (x, -1.55), (x, -0.4))
        if t > 0:
            arrow(ax, (x - step + 0.6, 0), (x - 0.6, 0), f"$h_{t}$" if t < 2 else None)
        if attention:
            node(ax, (x, 1.5), "Σ", colour=GATE_COLOURS["g"])
            arrow(ax, (x, 0.4), (x, 1.28), "$h_t$" if t == 0 else None, label_offset=(0.3, 0))
            arrow(ax, (gx + 2 * cell + 0.1, gy), (x - 0.22, 1.6), "$\\alpha_{t,s}$" if t == 0 else None,
                  colour=GATE_COLOURS["g"], width=1.0, label_pos=0.6)
            arrow(ax, (x, 1.72), (x, 3.55), "$[c_t, h_t]$" if t == 0 else None, colour=OUTPUT_COLOUR,
                  label_pos=0.45)
            ax.text(x, 3.85, out, ha="center", va="center", fontsize=FONT_SIZE, family="monospace",
                    color=OUTPUT_COLOUR)
        else:
            arrow(ax, (x, 0.4), (x, 1.75), "(N, V)" if t == 0 else None, colour=OUTPUT_COLOUR)
            ax.text(x, 2.05, out, ha="center", va="center", fontsize=FONT_SIZE, family="monospace",
                    color=OUTPUT_COLOUR)


# ------------------------------------------------------------------------------------------------------------
# Chapter 1: the shapes of sequence problems
# ------------------------------------------------------------------------------------------------------------
__all__ += ["SEQUENCE_SHAPES", "draw_sequence_shape"]

#: The input/output patterns :func:`draw_sequence_shape` draws: for every step of the recurrence, whether it
#: reads an input and whether it emits an output, and whether it belongs to a decoder.
SEQUENCE_SHAPES = {
    "one-to-many": ([1, 0, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]),
    "many-to-one": ([1, 1, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]),
    "many-to-many": ([1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]),
    "encoder-decoder": ([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 1]),
}


def draw_sequence_shape(ax, kind: str, title: str | None = None):
    """Draw one input/output pattern of a sequence problem on ``ax``, in the style of :func:`draw_unrolled`.

    ``kind`` is a key of :data:`SEQUENCE_SHAPES`: ``"one-to-many"`` (one input, an output at every step),
    ``"many-to-one"`` (an input at every step, one output at the end), ``"many-to-many"`` (one output per
    input, aligned) or ``"encoder-decoder"`` (an encoder reads the whole input, then a decoder, started
    from the encoder's last state, writes the output). Inputs enter from below, outputs leave upwards,
    the state flows to the right. Returns ``ax``.
    """
    if kind not in SEQUENCE_SHAPES:
        raise ValueError(f"kind must be one of {sorted(SEQUENCE_SHAPES)}, got {kind!r}")
    reads, writes, decoder = SEQUENCE_SHAPES[kind]
    step, half_w, half_h = 1.3, 0.4, 0.3
    ax.set_xlim(-1.0, (len(reads) - 1) * step + 0.7)
    ax.set_ylim(-1.5, 1.7)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for t, (r, w, d) in enumerate(zip(reads, writes, decoder)):
        x = t * step
        block(ax, (x, 0), "", width=2 * half_w, height=2 * half_h, fill="#FBEFD9" if d else "#EAF1F8")
        if r:
            arrow(ax, (x, -1.2), (x, -half_h))
            ax.text(x, -1.38, "x", ha="center", va="center", fontsize=SHAPE_FONT_SIZE)
        if w:
            arrow(ax, (x, half_h), (x, 1.2), colour=OUTPUT_COLOUR)
            ax.text(x, 1.42, "y", ha="center", va="center", fontsize=SHAPE_FONT_SIZE, color=OUTPUT_COLOUR)
        arrow(ax, (-0.9 if t == 0 else x - step + half_w, 0), (x - half_w, 0))
    ax.set_title(title if title is not None else kind, fontsize=FONT_SIZE)


# ---- Chapter 3 (issue 19): the LSTM's backward graph and the GRU cell ---------------------------

#: Colour of each GRU gate (blocks in the order r, z, n): the update gate z, which both keeps and
#: writes, takes the forget gate's colour; the candidate n the LSTM candidate's.
GRU_GATE_COLOURS = {"r": "#CC79A7", "z": "#0072B2", "n": "#E69F00"}
GRADIENT_COLOUR = "#C0392B"


def _grad_label(ax, xy, text, *, ha="center", fontsize=SHAPE_FONT_SIZE):
    ax.text(*xy, text, ha=ha, va="center", fontsize=fontsize, color=GRADIENT_COLOUR,
            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none"), zorder=7)


def draw_lstm_backward(ax):
    """Draw the computational graph of one LSTM step with the gradients of its backward pass.

    The forward operations in the layout of :func:`draw_lstm_cell` (cell state thick, gates in
    their :data:`GATE_COLOURS`); dashed red arrows run backwards, each labelled with the gradient it
    carries: :math:`\\bar h` and :math:`\\bar c` arrive from above and from the next step; :math:`\\bar h` runs back
    through the output product and the ``tanh`` into the cell state, where the two meet in :math:`\\delta c`;
    :math:`\\delta c` split at the two products into the gates' gradients, pass through each
    activation's derivative into :math:`\\delta a` ``(N, 4H)``, and leave as the gradients of the
    inputs and weights. Returns ``ax``.
    """
    ax.set_xlim(-0.3, 12.3)
    ax.set_ylim(-1.9, 7.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    y_c, y_g, y_a = 6.0, 3.0, 0.9
    fx, addx, igx, tx, ox = 2.4, 5.0, 5.0, 8.6, 10.4
    cell = dict(colour=CELL_STATE_COLOUR, width=CELL_STATE_WIDTH)
    state = dict(fontsize=FONT_SIZE + 3, ha="center", va="center", zorder=6)
    arrow(ax, (0.0, y_c), (fx - 0.22, y_c), **cell)
    ax.text(0.9, y_c - 0.45, "$c_{t-1}$", color=CELL_STATE_COLOUR, **state)
    arrow(ax, (fx + 0.22, y_c), (addx - 0.22, y_c), **cell)
    arrow(ax, (addx + 0.22, y_c), (12.2, y_c), **cell)
    ax.text(9.7, y_c - 0.42, "$c_t$", color=CELL_STATE_COLOUR, **state)
    node(ax, (fx, y_c), "×", colour=CELL_STATE_COLOUR)
    node(ax, (addx, y_c), "+", colour=CELL_STATE_COLOUR)
    node(ax, (igx, 4.5), "×")
    arrow(ax, (igx, 4.72), (addx, y_c - 0.22))
    block(ax, (tx, 4.9), "tanh", width=0.9, height=0.5)
    arrow(ax, (tx, y_c), (tx, 5.15), colour=CELL_STATE_COLOUR, width=2.0)
    arrow(ax, (tx + 0.45, 4.9), (ox - 0.22, 4.9))
    node(ax, (ox, 4.9), "×")
    arrow(ax, (ox + 0.22, 4.9), (12.2, 4.9))
    ax.text(11.6, 5.28, "$h_t$", color=HIDDEN_COLOUR, **state)
    gate_x = {"f": fx, "i": 4.2, "g": 5.8, "o": ox}
    targets = {"f": (fx, y_c - 0.22), "i": (igx - 0.16, 4.34), "g": (igx + 0.16, 4.34), "o": (ox, 4.68)}
    block(ax, (6.3, y_a), "$a = x_t W_x + h_{t-1} W_h + b$   (N, 4H)", width=9.0, height=0.7, fill="#F4F6F7")
    for g, x in gate_x.items():
        colour = GATE_COLOURS[g]
        arrow(ax, (x, y_a + 0.35), (x, y_g - 0.3), colour=colour)
        block(ax, (x, y_g), f"{g}: {'tanh' if g == 'g' else 'σ'}", colour=colour, width=1.1, height=0.6,
              fill=colour, text_colour="white")
        arrow(ax, (x, y_g + 0.3), targets[g], colour=colour)
    back = dict(colour=GRADIENT_COLOUR, dashed=True, width=1.4)
    label = partial(_grad_label, ax, fontsize=FONT_SIZE + 1)          # larger than the shapes: read at a glance
    # gradients arriving, collected into delta c
    arrow(ax, (12.2, 4.55), (ox + 0.25, 4.55), **back)
    label((11.6, 4.15), "$\\bar h$")
    # h_t = o * tanh(c_t): back through the product and the tanh into the cell state
    arrow(ax, (ox - 0.25, 4.55), (tx + 0.5, 4.55), **back)
    arrow(ax, (tx - 0.25, 5.2), (tx - 0.25, y_c - 0.3), **back)
    label((tx - 1.85, 5.2), "$\\bar h \\odot o \\odot (1 - \\tanh^2 c_t)$")
    arrow(ax, (12.2, 6.35), (addx + 0.3, 6.35), **back)
    label((11.6, 6.7), "$\\bar c$")
    label((6.6, 7.05), "$\\delta c = \\bar c + \\bar h \\odot o \\odot (1 - \\tanh^2 c_t)$")
    arrow(ax, (fx - 0.3, 6.35), (0.0, 6.35), **back)
    label((1.0, 6.75), "$\\delta c \\odot f$")
    # the products' gradients, then each activation's derivative
    labels = {"f": "$\\delta a_f = \\delta c \\odot c_{t-1} \\odot f(1-f)$",
              "i": "$\\delta a_i = \\delta c \\odot g \\odot i(1-i)$",
              "g": "$\\delta a_g = \\delta c \\odot i \\odot (1-g^2)$",
              "o": "$\\delta a_o = \\bar h \\odot \\tanh c_t \\odot o(1-o)$"}
    for k, (g, x) in enumerate(gate_x.items()):
        arrow(ax, (x + 0.25, y_g - 0.3), (x + 0.25, y_a + 0.35), **back)
        label((x + 0.1, 2.05 - 0.5 * (k % 2)), labels[g])
    # what leaves the step
    label((6.3, -0.1),
                "$\\delta x_t = \\delta a\\, W_x^\\top,\\quad \\delta h_{t-1} = \\delta a\\, W_h^\\top$")
    label((6.3, -0.75),
                "$\\delta W_x$ += $x_t^\\top \\delta a$,   $\\delta W_h$ += $h_{t-1}^\\top \\delta a$,   "
                "$\\delta b$ += $\\sum_n \\delta a$   (summed over the steps)")
    ax.text(6.3, -1.5, "solid: forward    dashed: backward (gradient)", ha="center", va="center",
            fontsize=SHAPE_FONT_SIZE, color=HIDDEN_COLOUR)
    return ax


def draw_gru_cell(ax, *, show_shapes: bool = True):
    """Draw one GRU step (PyTorch's formulation, blocks r, z, n) in the book's style.

    The hidden state runs along the top as the one state (drawn thick, like the LSTM's cell state):
    :math:`h_t = z \\odot h_{t-1} + (1 - z) \\odot n`, so the update gate z keeps the old state and
    lets in the candidate with one number per unit; the reset gate r scales the recurrent part of
    the candidate, :math:`n = \\tanh(x_t W_{xn} + b_n + r \\odot (h_{t-1} W_{hn}))`. Returns ``ax``.
    """
    H = "(N, H)" if show_shapes else None
    ax.set_xlim(-0.1, 10.1)
    ax.set_ylim(-0.9, 6.8)
    ax.set_aspect("equal")
    ax.set_axis_off()
    y_h, y_g, y_aff = 6.0, 3.0, 1.2
    gx = {"z": 2.8, "r": 4.8, "n": 6.6}
    kx, addx = gx["z"], 8.0
    state = dict(colour=CELL_STATE_COLOUR, width=CELL_STATE_WIDTH)
    arrow(ax, (0.1, y_h), (kx - 0.22, y_h), f"$h_{{t-1}}$ {H or ''}".strip(), label_pos=0.45, **state)
    arrow(ax, (kx + 0.22, y_h), (addx - 0.22, y_h), H, **state)
    arrow(ax, (addx + 0.22, y_h), (10.0, y_h), f"$h_t$ {H or ''}".strip(), label_pos=0.5, **state)
    node(ax, (kx, y_h), "×", colour=CELL_STATE_COLOUR)
    node(ax, (addx, y_h), "+", colour=CELL_STATE_COLOUR)
    arrow(ax, (0.6, y_h), (0.6, y_aff + 0.45), H, label_pos=0.6)
    block(ax, (4.6, y_aff), "$x_t W_x + b$  and  $h_{t-1} W_h$\n(N, 3H) each: blocks r | z | n",
          width=7.6, height=0.9, fill="#F4F6F7")
    arrow(ax, (4.0, -0.7), (4.0, y_aff - 0.45), f"$x_t$ {'(N, D)' if show_shapes else ''}".strip())
    for g, x in gx.items():
        colour = GRU_GATE_COLOURS[g]
        arrow(ax, (x, y_aff + 0.45), (x, y_g - 0.3), colour=colour)
        block(ax, (x, y_g), f"{g}: {'tanh' if g == 'n' else 'σ'}", colour=colour, width=1.1, height=0.6,
              fill=colour, text_colour="white")
    # r scales the candidate's recurrent part; z keeps the old state; 1 - z lets the candidate in
    arrow(ax, (gx["r"] + 0.55, y_g), (gx["n"] - 0.55, y_g), colour=GRU_GATE_COLOURS["r"])
    ax.text((gx["r"] + gx["n"]) / 2, y_g - 0.5, "$r \\odot (h_{t-1} W_{hn})$", ha="center", va="center",
            fontsize=SHAPE_FONT_SIZE, color=GRU_GATE_COLOURS["r"])
    arrow(ax, (kx, y_g + 0.3), (kx, y_h - 0.22), H, colour=GRU_GATE_COLOURS["z"])
    block(ax, (5.7, 4.4), "1 − z", width=0.8, height=0.45, colour=GRU_GATE_COLOURS["z"])
    arrow(ax, (kx + 0.3, y_g + 0.3), (5.3, 4.3), colour=GRU_GATE_COLOURS["z"])
    node(ax, (addx, 4.8), "×")
    arrow(ax, (6.1, 4.45), (addx - 0.22, 4.78), colour=GRU_GATE_COLOURS["z"])
    arrow(ax, (gx["n"] + 0.3, y_g + 0.3), (addx - 0.14, 4.62), H, colour=GRU_GATE_COLOURS["n"],
          label_offset=(0.45, -0.1))
    arrow(ax, (addx, 5.02), (addx, y_h - 0.22), H, label_offset=(0.45, 0))
    for k, g in enumerate(GRU_GATE_COLOURS):
        name = {"r": "reset", "z": "update", "n": "candidate"}[g]
        ax.text(6.0 + 1.4 * k, -0.5, name, ha="center", va="center", fontsize=SHAPE_FONT_SIZE,
                color=GRU_GATE_COLOURS[g], fontweight="bold")
    return ax


# ------------------------------------------------------------------------------------ chapter 5 (sequence to sequence)
def draw_encoder_decoder(ax, source: Sequence[str], target: Sequence[str], *, peeky: bool = False):
    """Draw an encoder–decoder on a matplotlib ``ax`` (chapter 5).

    The encoder's LSTM steps read ``source`` (left); its last hidden state ``h`` is the decoder's initial
    state; the decoder's steps read ``<s>`` and ``target`` and write ``target`` and ``</s>`` (right), each
    through an output layer. With ``peeky``, ``h`` is also drawn feeding every decoder step's input and
    every output layer (the peeky decoder). Returns ``ax``.
    """
    source, target = list(source), list(target)
    if not source or not target:
        raise ValueError("draw_encoder_decoder needs at least one source and one target token")
    step, w, hgt = 1.5, 0.9, 0.6
    S, T = len(source), len(target) + 1
    x_dec = S * step + 1.2                                     # the first decoder step
    ax.set_xlim(-1.3, x_dec + (T - 1) * step + 0.8)
    ax.set_ylim(-2.1, 2.9)
    ax.set_aspect("equal")
    ax.set_axis_off()
    for s, tok in enumerate(source):
        x = s * step
        block(ax, (x, 0), "LSTM", width=w, height=hgt, fill="#EAF1F8")
        ax.text(x, -1.6, tok, ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        arrow(ax, (x, -1.35), (x, -hgt / 2))
        arrow(ax, (x - step + w / 2 if s else -1.2, 0), (x - w / 2, 0))
    ax.text((S - 1) * step / 2, 1.0, "encoder", ha="center", fontsize=FONT_SIZE, style="italic")
    x_h = (S - 1) * step + w / 2
    arrow(ax, (x_h, 0), (x_dec - w / 2, 0), "h", colour=CELL_STATE_COLOUR, width=2.5)
    for t, tok in enumerate(["<s>"] + target):
        x = x_dec + t * step
        block(ax, (x, 0), "LSTM", width=w, height=hgt, fill="#FDF2E9")
        block(ax, (x, 1.4), "Affine", width=w, height=0.5)
        ax.text(x, -1.6, tok, ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        arrow(ax, (x, -1.35), (x, -hgt / 2))
        arrow(ax, (x, hgt / 2), (x, 1.15))
        arrow(ax, (x, 1.65), (x, 2.2), colour=OUTPUT_COLOUR)
        out = (target + ["</s>"])[t]
        ax.text(x, 2.5, out, ha="center", va="center", fontsize=FONT_SIZE, family="monospace", color=OUTPUT_COLOUR)
        if t:
            arrow(ax, (x - step + w / 2, 0), (x - w / 2, 0))
        if peeky:
            arrow(ax, (x_h + 0.3, -0.9), (x - 0.2, -hgt / 2), colour=CELL_STATE_COLOUR, dashed=True, width=1.0)
            arrow(ax, (x_h + 0.3, -0.9), (x - w / 2, 1.3), colour=CELL_STATE_COLOUR, dashed=True, width=1.0)
    if peeky:
        ax.plot([x_h, x_h + 0.3], [0, -0.9], color=CELL_STATE_COLOUR, lw=1.0, ls="--")
        ax.text(x_h + 0.3, -1.15, "h (peek)", ha="center", va="top", fontsize=SHAPE_FONT_SIZE,
                color=CELL_STATE_COLOUR)
    ax.text(x_dec + (T - 1) * step / 2, -2.05, "decoder" + (" (peeky)" if peeky else ""), ha="center",
            fontsize=FONT_SIZE, style="italic")
    return ax


def draw_attention_step(ax, source: Sequence[str], scores: Sequence[float], *, query: str = "$q_t$"):
    """Draw one decoder step of dot-product attention on a matplotlib ``ax`` (chapter 5).

    One column per source position ``s`` (its character and encoder state :math:`h_s`), with its score
    :math:`e_{t,s} = q_t \\cdot h_s` and its weight :math:`a_{t,s}` (a bar, and the thickness of the arrow
    into the weighted sum :math:`c_t = \\sum_s a_{t,s} h_s`). Returns ``ax`` and the weights.
    """
    from matplotlib.patches import Rectangle
    source = list(source)
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(source),) or not source:
        raise ValueError(f"scores must have one entry per source token ({len(source)}), got shape {scores.shape}")
    weights = np.exp(scores - np.nanmax(scores))
    weights = weights / weights.sum()
    step, S = 1.3, len(source)
    ax.set_xlim(-1.6, (S - 1) * step + 2.6)
    ax.set_ylim(-1.8, 5.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    x_q, x_c = (S - 1) * step + 1.9, (S - 1) * step / 2
    block(ax, (x_q, 0), query, width=0.9, height=0.6, fill="#FDF2E9")
    node(ax, (x_c, 4.3), "Σ")
    arrow(ax, (x_c + 0.25, 4.3), (x_c + 0.95, 4.3), colour=OUTPUT_COLOUR)
    for s, (tok, e, a) in enumerate(zip(source, scores, weights)):
        x = s * step
        block(ax, (x, 0), f"$h_{{{s + 1}}}$", width=0.9, height=0.6, fill="#EAF1F8")
        ax.text(x, -1.3, tok, ha="center", va="center", fontsize=FONT_SIZE, family="monospace")
        ax.text(x, 0.75, f"{e:+.1f}", ha="center", va="center", fontsize=SHAPE_FONT_SIZE)
        ax.add_patch(Rectangle((x - 0.3, 1.1), 0.6, 1.6 * a, fc=OUTPUT_COLOUR, alpha=0.6, ec="none"))
        ax.text(x, 1.0 + 1.6 * a + 0.35, f"{a:.2f}", ha="center", va="center", fontsize=SHAPE_FONT_SIZE,
                color=OUTPUT_COLOUR)
        arrow(ax, (x, 3.0), (x_c, 4.05), colour=HIDDEN_COLOUR, width=0.4 + 4 * a)
    ax.text(-1.5, 0.75, "$e_{t,s}$", ha="left", va="center", fontsize=SHAPE_FONT_SIZE)
    ax.text(-1.5, 1.6, "$a_{t,s}$", ha="left", va="center", fontsize=SHAPE_FONT_SIZE, color=OUTPUT_COLOUR)
    ax.text(x_q, -1.3, "decoder state", ha="center", va="center", fontsize=SHAPE_FONT_SIZE)
    ax.plot([x_q, x_q], [0.3, 0.75], color=HIDDEN_COLOUR, lw=LINE_WIDTH)
    arrow(ax, (x_q, 0.75), ((S - 1) * step + 0.45, 0.75))
    ax.text(x_q, 1.05, "$q_t \\cdot h_s$", ha="center", va="center", fontsize=SHAPE_FONT_SIZE)
    ax.text(x_c + 1.05, 4.3, "$c_t = \\sum_s a_{t,s} h_s$", ha="left", va="center", fontsize=SHAPE_FONT_SIZE,
            color=OUTPUT_COLOUR)
    return ax, weights
