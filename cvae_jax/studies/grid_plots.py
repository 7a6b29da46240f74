"""Figures of a grid sweep: every diagnostic against the grid's axes, and the rate plane.

Drawn from the metric rows (one per member, as in metrics.json); each point is the mean
over seeds of one grid point. Nothing here trains; figures are written atomically.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvae_jax.config import GRID_AXES  # noqa: E402
from cvae_jax.runs.results import save_figure  # noqa: E402


def seed_means(rows: list[dict], keys: list[str], metric: str) -> dict[tuple, float]:
    """{values of `keys`: mean of `metric` over the rows (seeds) that share them}."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r[metric])
    return {k: float(np.nanmean(v)) for k, v in groups.items()}


def _axis_scale(ax, values) -> None:
    values = np.asarray(sorted(values), float)
    if values.min() > 0 and values.max() / values.min() >= 10:
        ax.set_xscale("log")
        ax.set_xticks(values, [f"{v:g}" for v in values])
        ax.minorticks_off()


def _panels(num: int, width: float = 3.6, height: float = 3.0):
    cols = min(num, 4)
    rows = -(-num // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[num:]:
        ax.axis("off")
    return fig, axes.flat


def lines(path, rows: list[dict], axis: str, metrics: dict, title: str) -> None:
    """One panel per metric against one grid axis (mean over seeds; seeds as dots)."""
    fig, axes = _panels(len(metrics))
    for ax, (key, label) in zip(axes, metrics.items(), strict=False):
        means = seed_means(rows, [axis], key)
        values = sorted(v for (v,) in means)
        ax.plot(values, [means[(v,)] for v in values], marker="o")
        ax.scatter([r[axis] for r in rows], [r[key] for r in rows], s=8, alpha=0.4)
        _axis_scale(ax, values)
        ax.set_xlabel(axis)
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)


def heat_maps(path, rows: list[dict], axes_xy: tuple[str, str], metrics: dict, title: str):
    """One heat map per metric over two grid axes (mean over seeds and any other axes)."""
    x_axis, y_axis = axes_xy
    fig, axes = _panels(len(metrics), width=4.0, height=3.4)
    for ax, (key, label) in zip(axes, metrics.items(), strict=False):
        means = seed_means(rows, [y_axis, x_axis], key)
        xs, ys = sorted({x for _, x in means}), sorted({y for y, _ in means})
        grid = np.array([[means.get((y, x), np.nan) for x in xs] for y in ys])
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
        for (i, j), value in np.ndenumerate(grid):
            light = value > np.nanmean(grid)  # viridis: dark text on the bright half
            color = "k" if light else "w"
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=6, color=color)
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=7)
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=7)
        ax.set_xlabel(x_axis)
        ax.set_ylabel(y_axis)
        ax.set_title(label, fontsize=8)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save_figure(fig, path)


def against_rate(path, rows: list[dict], metric: str, label: str, group: str, title: str):
    """`metric` against the test rate: one curve per value of `group` (a family, a variant),
    its grid points joined in order of rate; the rate-distortion plane for the distortion."""
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for name in dict.fromkeys(r[group] for r in rows):
        mine = [r for r in rows if r[group] == name]
        keys = [k for k in GRID_AXES if k in mine[0]]
        rate = seed_means(mine, keys, "test_rate")
        value = seed_means(mine, keys, metric)
        order = sorted(rate, key=rate.get)
        ax.plot([rate[k] for k in order], [value[k] for k in order], marker="o", ms=4, label=name)
    ax.set_xlabel("rate E KL(q(z|x,y)||p(z|y)) (nats)")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)
