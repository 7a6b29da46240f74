"""Figures of the two-cluster study, drawn from the saved files (plots never retrain).

Colours follow Beckham's figures: inference path purple, generative path green, label swaps pink.
"""

import json
import os

import matplotlib

matplotlib.use("Agg")  # headless: figures go to files
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from cvae_jax.runs.results import save_figure  # noqa: E402

LABEL_COLOURS = ("tab:blue", "tab:orange")
GENERATED_COLOURS = ("darkgreen", "limegreen")
CURVE_TITLES = {
    "recon_error": "reconstruction error ||x - x_rec||^2",
    "rate": "rate E KL(q(z|x,y) || p(z|y)) [nats]",
    "mi_zxy": "I(Z; X,Y) [nats]",
    "mi_zy": "I(Z; Y) [nats]",
    "kl_conditional": "KL(q(z|y) || p(z|y)) [nats]",
    "gen_accuracy": "generation accuracy (Bayes classifier)",
    "swap_accuracy": "label-swap accuracy",
}


def _data(ax, x, y, alpha=0.15):
    for c, colour in enumerate(LABEL_COLOURS):
        ax.scatter(*x[y == c].T, s=4, c=colour, alpha=alpha, label=f"data y={c}")


def _finish(ax, title, xlabel="x1", ylabel="x2"):
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, markerscale=2, loc="best")


def _beta_panels(samples, metrics, variant, wanted_betas, rows: int):
    """A figure with one column per wanted beta: (fig, axes [rows, cols], [(h, metrics row)])."""
    betas = samples["betas"]
    cols = [int(np.argmin(np.abs(np.asarray(betas) - b))) for b in wanted_betas]
    fig, axes = plt.subplots(
        rows, len(cols), figsize=(4.2 * len(cols), 4 * rows + 0.2), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    return fig, axes, [(h, metrics[(variant, float(betas[h]))]) for h in cols]


def input_space_figure(samples, metrics, variant, wanted_betas, s):
    """Row 1: data and reconstructions (inference path); row 2: generated samples per y."""
    x, y, betas = samples["x"], samples["y"], samples["betas"]
    fig, axes, panels = _beta_panels(samples, metrics, variant, wanted_betas, rows=2)
    for j, (h, m) in enumerate(panels):
        ax = axes[0, j]
        _data(ax, x, y)
        ax.scatter(
            *samples[f"{variant}/reconstruction"][s, h].T, s=4, c="purple", label="reconstruction"
        )
        _finish(
            ax, f"{variant}, beta={betas[h]:g}: inference path\nrecon error {m['recon_error']:.3f}"
        )
        ax = axes[1, j]
        _data(ax, x, y, alpha=0.08)
        generated = samples[f"{variant}/generated"][s, h]
        gen_y = np.repeat(np.arange(2), len(generated) // 2)
        for c, colour in enumerate(GENERATED_COLOURS):
            ax.scatter(*generated[gen_y == c].T, s=4, c=colour, label=f"generated, y={c}")
        _finish(
            ax,
            f"{variant}, beta={betas[h]:g}: generative path\ngeneration accuracy {m['gen_accuracy']:.2f}",
        )
    return fig


def latent_space_figure(samples, metrics, variant, wanted_betas, s):
    """z ~ q(z|x,y) coloured by y, with the prior of each class as 1- and 2-sigma ellipses
    (for a Gaussian prior; other families' priors have no ellipse to draw)."""
    y, betas = samples["y"], samples["betas"]
    fig, axes, panels = _beta_panels(samples, metrics, variant, wanted_betas, rows=1)
    for j, (h, m) in enumerate(panels):
        ax = axes[0, j]
        z = samples[f"{variant}/z"][s, h]
        for c, colour in enumerate(LABEL_COLOURS):
            ax.scatter(*z[y == c].T, s=4, c=colour, alpha=0.4, label=f"q(z|y={c})")
        means, log_vars = (
            samples[f"{variant}/prior_mean"][s, h],
            samples[f"{variant}/prior_log_var"][s, h],
        )
        for c in range(len(means)):
            if not np.all(np.isfinite(means[c])):  # a prior with no Gaussian to draw (mog...)
                continue
            sd = np.exp(0.5 * log_vars[c])
            for k in (1, 2):
                label = (
                    f"prior p(z|y={c})"
                    if k == 1 and variant != "standard"
                    else ("prior p(z)" if k == 1 and c == 0 else None)
                )
                ax.add_patch(
                    Ellipse(
                        means[c],
                        2 * k * sd[0],
                        2 * k * sd[1],
                        fill=False,
                        ec="green",
                        lw=1.5,
                        label=label,
                    )
                )
        ax.set_aspect("equal", adjustable="datalim")
        _finish(
            ax,
            f"{variant}, beta={betas[h]:g}: latent space\nI(Z;Y)={m['mi_zy']:.2f}, I(Z;X,Y)={m['mi_zxy']:.2f} nats",
            "z1",
            "z2",
        )
    return fig


def label_swap_figure(samples, metrics, variant, wanted_betas, s):
    """Encode (x, y), decode with the other label (Beckham eq. 13): do points change cluster?"""
    x, y, betas = samples["x"], samples["y"], samples["betas"]
    fig, axes, panels = _beta_panels(samples, metrics, variant, wanted_betas, rows=1)
    for j, (h, m) in enumerate(panels):
        ax = axes[0, j]
        _data(ax, x, y)
        swapped = samples[f"{variant}/swapped"][s, h]
        ax.scatter(*swapped[y == 0].T, s=4, c="deeppink", label="y=0 swapped to 1")
        ax.scatter(*swapped[y == 1].T, s=4, c="hotpink", marker="x", label="y=1 swapped to 0")
        _finish(
            ax, f"{variant}, beta={betas[h]:g}: label swap\nswap accuracy {m['swap_accuracy']:.2f}"
        )
    return fig


def summary_curves_figure(curves, predicted=None):
    """Each diagnostic against beta, seed mean and +-1 std band, all variants on shared axes.

    predicted: optional {metric: f(beta)} closed forms drawn as dashed lines.
    """
    predicted = predicted or {}
    fig, axes = plt.subplots(2, 4, figsize=(20, 8), layout="constrained")
    for ax, (name, title) in zip(axes.flat, CURVE_TITLES.items(), strict=False):
        for variant, c in curves.items():
            beta, mean, std = (
                np.asarray(c["beta"]),
                np.asarray(c[name]["mean"]),
                np.asarray(c[name]["std"]),
            )
            ax.plot(beta, mean, marker="o", ms=3, label=variant)
            ax.fill_between(beta, mean - std, mean + std, alpha=0.2)
        if name in predicted:
            beta = np.geomspace(1e-3, max(c["beta"]), 200)
            ax.plot(beta, predicted[name](beta), "k--", lw=1, label="linear-Gaussian optimum")
        ax.set_xscale("symlog", linthresh=1e-3)  # beta = 0 sits at the left edge
        ax.set_xlabel("beta")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes.flat[-1].set_visible(len(CURVE_TITLES) == axes.size)
    fig.suptitle("Two-cluster cVAE: diagnostics against beta (mean +- std over seeds)")
    return fig


def toy2d_figures(workdir: str, wanted_betas, seed_index: int = 0, predicted=None) -> list[str]:
    """Reads samples.npz, metrics.json and summary.json from `workdir`; writes the PNGs."""
    samples = dict(np.load(os.path.join(workdir, "samples.npz")))
    with open(os.path.join(workdir, "metrics.json")) as f:
        rows = json.load(f)
    with open(os.path.join(workdir, "summary.json")) as f:
        curves = json.load(f)["curves"]
    seed = int(samples["seeds"][seed_index])
    metrics = {(r["variant"], r["beta"]): r for r in rows if r["seed"] == seed}
    written = []
    for variant in curves:
        for kind, draw in (
            ("input_space", input_space_figure),
            ("latent_space", latent_space_figure),
            ("label_swap", label_swap_figure),
        ):
            path = os.path.join(workdir, f"{kind}_{variant}.png")
            fig = draw(samples, metrics, variant, wanted_betas, seed_index)
            save_figure(fig, path)
            written.append(path)
    fig = summary_curves_figure(curves, predicted)
    save_figure(fig, os.path.join(workdir, "summary_curves.png"))
    return [*written, os.path.join(workdir, "summary_curves.png")]
