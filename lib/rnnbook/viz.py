"""Plots shared by several chapters."""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["draw_unrolled", "plot_next_token_distributions"]


def draw_unrolled(ax, inputs: Sequence[str], outputs: Sequence[str] | None = None, *, cell: str = "RNN",
                  state: str = "h", show_backward: bool = False):
    """Draw a recurrent network unrolled over time on a matplotlib ``ax``.

    One box per time step, the input token below it, the prediction above it,
    and the hidden state passed from left to right (and, with
    ``show_backward``, the gradient passed from right to left).
    """
    T = len(inputs)
    ax.set_xlim(-0.9, T - 0.1)
    ax.set_ylim(-1.3, 1.6)
    ax.set_axis_off()
    box = dict(boxstyle="round,pad=0.35", fc="#dbe9f6", ec="#2c5d8a", lw=1.4)
    arrow = dict(arrowstyle="->", color="#2c5d8a", lw=1.4)
    for t, tok in enumerate(inputs):
        ax.annotate(cell, (t, 0), ha="center", va="center", fontsize=11, bbox=box)
        ax.annotate(f"{tok}", (t, -1.05), ha="center", va="center", fontsize=11, family="monospace")
        ax.annotate("", xy=(t, -0.28), xytext=(t, -0.85), arrowprops=arrow)
        if outputs is not None:
            ax.annotate(f"{outputs[t]}", (t, 1.35), ha="center", va="center", fontsize=11, family="monospace",
                        color="#8a2c2c")
            ax.annotate("", xy=(t, 1.15), xytext=(t, 0.28), arrowprops=dict(arrow, color="#8a2c2c"))
        label = f"${state}_{{{t - 1}}}$" if t > 0 else f"${state}_{{-1}}=0$"
        ax.annotate("", xy=(t - 0.3, 0), xytext=(t - 0.7, 0), arrowprops=arrow)
        ax.text(t - 0.5, 0.12, label, ha="center", fontsize=9)
        if show_backward and t > 0:
            ax.annotate("", xy=(t - 0.7, -0.3), xytext=(t - 0.3, -0.3),
                        arrowprops=dict(arrowstyle="->", color="#c0392b", lw=1.2, ls="--"))
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
