"""The disentanglement study's figures: scores against the grid axis with the spread over
seeds, and latent traversals (each latent swept around one image's code, decoded)."""

import matplotlib

matplotlib.use("Agg")
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvae_jax.core import latents  # noqa: E402
from cvae_jax.runs import results  # noqa: E402

TRAVERSAL = np.linspace(-2.5, 2.5, 7)  # values each latent takes, in prior standard deviations


def _axis(group) -> str:
    """The grid axis a variant varies: capacity when beta is fixed, else beta."""
    return "capacity" if len({r["beta"] for r in group}) == 1 and "capacity" in group[0] else "beta"


def scores_vs_axis(path: str, rows, scores) -> None:
    """One panel per score; per variant the seeds as dots and their median as a line."""
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    fig, axes = plt.subplots(len(variants), len(scores), figsize=(3.3 * len(scores),
                             2.8 * len(variants)), squeeze=False)  # fmt: skip
    for i, name in enumerate(variants):
        group = [r for r in rows if r["variant"] == name]
        axis = _axis(group)
        values = sorted({r[axis] for r in group})
        for j, score in enumerate(scores):
            ax = axes[i, j]
            for x in values:
                ys = [r[score] for r in group if r[axis] == x]
                ax.scatter([x] * len(ys), ys, s=10, alpha=0.6, color="tab:blue")
            medians = [np.median([r[score] for r in group if r[axis] == x]) for x in values]
            ax.plot(values, medians, color="tab:red", marker="o", markersize=3)
            ax.set_xscale("log" if min(values) > 0 else "linear")
            ax.set_title(f"{name}: {score}", fontsize=9)
            ax.set_xlabel(axis, fontsize=8)
            ax.grid(alpha=0.3)
    fig.tight_layout()
    results.save_figure(fig, path)


def traversal_members(rows, sweep, e) -> list[tuple[int, int, str]]:
    """(seed index, grid index, label) of the best and the worst seed by
    `e.traversal_metric` at beta = `e.traversal_beta` (any member if that beta was not run)."""
    H = len(sweep.hyper["beta"])
    indexed = [(i // H, i % H, r) for i, r in enumerate(rows)]
    at_beta = [m for m in indexed if np.isclose(m[2]["beta"], e.traversal_beta)] or indexed
    metric = e.traversal_metric
    best = max(at_beta, key=lambda m: m[2][metric])
    worst = min(at_beta, key=lambda m: m[2][metric])
    label = lambda kind, m: f"{kind} seed {m[2]['seed']} ({metric} {m[2][metric]:.2f})"  # noqa: E731
    return [(best[0], best[1], label("best", best)), (worst[0], worst[1], label("worst", worst))]


def traversals(path, model, sweep, members, test, image_shape, decode_mean) -> None:
    """Rows: latent dimensions; columns: that latent set to TRAVERSAL, the others at the
    first test image's code. One panel per member of `members`."""
    fig, axes = plt.subplots(1, len(members), figsize=(4 * len(members), 5), squeeze=False)
    for ax, (s, h, label) in zip(axes[0], members, strict=True):
        params = sweep.member_params(s, h)
        x, y = test.x[:1], test.y[:1]
        code = latents.centre(model.apply(params, x, y, method=model.encode))[0]  # [Dz]
        dz = code.shape[0]
        z = jnp.tile(code, (dz, len(TRAVERSAL), 1))  # [Dz, T, Dz]
        z = z.at[jnp.arange(dz), :, jnp.arange(dz)].set(jnp.asarray(TRAVERSAL, z.dtype))
        flat = z.reshape(-1, dz)
        images = decode_mean(model, params, flat, jnp.repeat(y, flat.shape[0], axis=0))
        grid = np.asarray(images).reshape(dz, len(TRAVERSAL), *image_shape)
        grid = grid.transpose(0, 2, 1, 3).reshape(dz * image_shape[0], -1)
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
        ax.set_title(label, fontsize=9)
        ax.set_ylabel("latent dimension (top: 1)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    results.save_figure(fig, path)
