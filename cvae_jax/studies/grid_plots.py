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


def colour_range(grid, key: str) -> tuple[float, float]:
    """The colour bar's (vmin, vmax): [0, 1] for accuracies (their natural range); else the
    data's range widened to at least 2% of its magnitude, so that a nearly constant metric
    is not stretched over the whole colour map as if its last digits were a difference."""
    if "accuracy" in key:
        return 0.0, 1.0
    low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
    floor = 0.02 * max(abs(low), abs(high), 1e-12)
    if high - low >= floor:
        return low, high
    middle = 0.5 * (low + high)
    return middle - floor / 2, middle + floor / 2


def heat_maps(path, rows: list[dict], axes_xy: tuple[str, str], metrics: dict, title: str):
    """One heat map per metric over two grid axes (mean over seeds and any other axes)."""
    x_axis, y_axis = axes_xy
    fig, axes = _panels(len(metrics), width=4.4, height=3.6)
    for ax, (key, label) in zip(axes, metrics.items(), strict=False):
        means = seed_means(rows, [y_axis, x_axis], key)
        xs, ys = sorted({x for _, x in means}), sorted({y for y, _ in means})
        grid = np.array([[means.get((y, x), np.nan) for x in xs] for y in ys])
        vmin, vmax = colour_range(grid, key)
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=vmin, vmax=vmax)
        for (i, j), value in np.ndenumerate(grid):
            light = value > 0.5 * (vmin + vmax)  # viridis: dark text on the bright half
            color = "k" if light else "w"
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=9, color=color)
        ax.set_xticks(range(len(xs)), [f"{x:g}" for x in xs], fontsize=9)
        ax.set_yticks(range(len(ys)), [f"{y:g}" for y in ys], fontsize=9)
        ax.set_xlabel(x_axis)
        ax.set_ylabel(y_axis)
        ax.set_title(label, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    save_figure(fig, path)


def against_rate(path, rows: list[dict], metric: str, label: str, group: str, title: str):
    """`metric` against the test rate: one curve per value of `group` (a family, a variant)
    and of every swept axis but the first, whose points it joins in order of rate, each
    point labelled with its value of that first axis; the rate-distortion plane for the
    distortion."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8))
    curves = _rate_curves(rows, group)
    ax.set_prop_cycle(color=plt.get_cmap("tab20" if len(curves) > 10 else "tab10").colors)
    for name, (axis, points) in curves.items():
        rate = seed_means(points, _grid_keys(points), "test_rate")
        value = seed_means(points, _grid_keys(points), metric)
        order = sorted(rate, key=rate.get)
        xs, ys = [rate[k] for k in order], [value[k] for k in order]
        ax.plot(xs, ys, marker="o", ms=4, label=name)
        if axis is not None and len(curves) <= 6:  # few curves: name each point's value
            keys = _grid_keys(points)
            for k, x, y in zip(order, xs, ys, strict=True):
                ax.annotate(f"{dict(zip(keys, k, strict=True))[axis]:g}", (x, y), fontsize=7,
                            xytext=(3, 3), textcoords="offset points")  # fmt: skip
    ax.set_xlabel("rate E KL(q(z|x,y)||p(z|y)) (nats)")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    save_figure(fig, path)


def _grid_keys(rows: list[dict]) -> list[str]:
    return [k for k in GRID_AXES if k in rows[0]]


def _rate_curves(rows: list[dict], group: str) -> dict:
    """{curve label: (the axis its points vary along, or None; its rows)}: one curve per
    value of `group` and of every varying axis after the first."""
    curves = {}
    for name in dict.fromkeys(r[group] for r in rows):
        mine = [r for r in rows if r[group] == name]
        varying = [k for k in _grid_keys(mine) if len({r[k] for r in mine}) > 1]
        if len(varying) < 2:
            curves[str(name)] = (varying[0] if varying else None, mine)
            continue
        others = varying[1:]
        for values in dict.fromkeys(tuple(r[k] for k in others) for r in mine):
            label = ", ".join(f"{k}={v:g}" for k, v in zip(others, values, strict=True))
            points = [r for r in mine if tuple(r[k] for k in others) == values]
            curves[f"{name}: {label}"] = (varying[0], points)
    return curves
