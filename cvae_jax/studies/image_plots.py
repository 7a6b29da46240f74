"""Figures of the image experiments: image grids and metric-versus-beta curves.

They draw from arrays already computed by the evaluation; nothing here trains. Every figure
is written atomically by `results.save_figure`.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvae_jax.runs.results import save_figure as save  # noqa: E402


def tile(images, image_shape, gap: int = 1) -> np.ndarray:
    """[R, C, H*W] images as one [R*(H+gap), C*(W+gap)] array; gaps are 0 (white in gray_r)."""
    images = np.asarray(images)
    rows, cols = images.shape[:2]
    h, w = image_shape
    canvas = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap), np.float32)
    for r in range(rows):
        for c in range(cols):
            canvas[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = images[
                r, c
            ].reshape(h, w)
    return canvas


def show_grid(ax, images, image_shape, row_labels=(), col_labels=(), gap: int = 1):
    """Draws a tiled grid on `ax` with optional tick labels at the centres of rows and columns."""
    h, w = image_shape
    ax.imshow(tile(images, image_shape, gap), cmap="gray_r", vmin=0, vmax=1)
    ax.set_yticks([r * (h + gap) + h / 2 - 0.5 for r in range(len(row_labels))], row_labels)
    ax.set_xticks([c * (w + gap) + w / 2 - 0.5 for c in range(len(col_labels))], col_labels)
    ax.tick_params(length=0, labelsize=8)


def sample_grids(path, grids: dict, image_shape, title: str) -> None:
    """One panel per beta: rows = labels, columns = samples from p(x|y) via z ~ p(z|y)."""
    fig, axes = plt.subplots(1, len(grids), figsize=(2.6 * len(grids), 3.4), squeeze=False)
    for ax, (beta, grid) in zip(axes[0], grids.items(), strict=True):
        show_grid(ax, grid, image_shape, row_labels=[str(i) for i in range(grid.shape[0])])
        ax.set_title(f"beta = {beta:g}", fontsize=10)
        ax.set_xlabel("samples")
    axes[0, 0].set_ylabel("label y")
    fig.suptitle(title, fontsize=11)
    save(fig, path)


def swap_grids(path, grids: dict, image_shape, title: str) -> None:
    """One panel per beta: rows = test images; columns = input, reconstruction, then labels."""
    fig, axes = plt.subplots(
        len(grids), 1, figsize=(6.0, 1.0 + 1.1 * len(grids) * 2), squeeze=False
    )
    for ax, (beta, grid) in zip(axes[:, 0], grids.items(), strict=True):
        labels = ["x", "rec"] + [str(i) for i in range(grid.shape[1] - 2)]
        show_grid(ax, grid, image_shape, col_labels=labels)
        ax.set_ylabel(f"beta = {beta:g}", fontsize=10)
    axes[0, 0].set_title("style z of the input (rows) decoded with label y' (columns)", fontsize=9)
    fig.suptitle(title, fontsize=11)
    save(fig, path)


def metric_curves(path, rows: list[dict], metrics: dict, title: str) -> None:
    """One panel per metric ({key: axis label}), one line per prior, beta on a log axis."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    priors = list(dict.fromkeys(r["variant"] for r in rows))
    for ax, (key, label) in zip(axes[0], metrics.items(), strict=True):
        for prior in priors:
            mine = [r for r in rows if r["variant"] == prior]
            betas = sorted({r["beta"] for r in mine})
            means = [np.mean([r[key] for r in mine if r["beta"] == b]) for b in betas]
            ax.plot(betas, means, marker="o", label=prior)
        all_betas = sorted({r["beta"] for r in rows})
        ax.set_xscale("log")
        ax.set_xticks(all_betas, [f"{b:g}" for b in all_betas])
        ax.minorticks_off()
        ax.set_xlabel("beta")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    save(fig, path)


def observed_canvas(mask, grid_shape, image_shape) -> np.ndarray:
    """The tiled observed mask (1 observed, 0 not) with NaN in the gaps between images, so a
    contour at 0.5 traces only the boundary inside each image."""
    canvas = tile(np.broadcast_to(mask.astype(np.float32), grid_shape), image_shape)
    inside = tile(np.ones(grid_shape, np.float32), image_shape) > 0
    return np.where(inside, canvas, np.nan)


def completion_grids(path, panels: dict, image_shape, masks: dict, inch: float = 0.42) -> None:
    """One panel per observed-quadrant count: rows = test inputs; columns = the observed part
    (unobserved shaded), the truth, the baseline's prediction, then cVAE completions.

    Every image after the first column shows the observed pixels in place; a red line marks
    where the observed part ends. The figure is sized from the grid, so it has no margins.
    """
    first = next(iter(panels.values()))
    rows, cols = first["cvae"].shape[0], first["cvae"].shape[1] + 3
    size = (inch * cols * len(panels) + 0.3 * (len(panels) - 1), inch * rows + 0.7)
    fig, axes = plt.subplots(1, len(panels), figsize=size, squeeze=False, layout="constrained")
    for ax, (q, panel) in zip(axes[0], panels.items(), strict=True):
        grid = np.concatenate(
            [panel["observed"][:, None], panel["truth"][:, None], panel["baseline"][:, None],
             panel["cvae"]], axis=1,
        )  # fmt: skip
        labels = ["obs", "truth", "base"] + [f"z{k + 1}" for k in range(grid.shape[1] - 3)]
        show_grid(ax, grid, image_shape, col_labels=labels)
        ax.contour(observed_canvas(masks[q], grid.shape, image_shape), levels=[0.5],
                   colors="tab:red", linewidths=0.6)  # fmt: skip
        ax.set_title(f"{q} quadrant{'s' * (q > 1)} observed", fontsize=9)
    save(fig, path)


def beta_pathways(path, inputs, recon, samples, betas, image_shape, title, inch=0.42) -> None:
    """Beckham's figure 5: per beta (rows), reconstructions (inference pathway, under the
    inputs) beside samples decoded from z ~ p(z) (generative pathway).

    inputs [C, D]; recon and samples [H, C, D] for the H betas.
    """
    cols = inputs.shape[0]
    names = [f"beta {b:g}" for b in betas]
    size = (inch * 2 * cols + 1.2, inch * (len(betas) + 1) + 0.8)
    fig, (left, right) = plt.subplots(1, 2, figsize=size, layout="constrained")
    show_grid(left, np.concatenate([inputs[None], recon], 0), image_shape, ["input", *names])
    left.set_title("inference: x -> z ~ q(z|x) -> x'", fontsize=9)
    aligned = np.concatenate([np.zeros_like(inputs)[None], samples], 0)  # a blank input row
    show_grid(right, aligned, image_shape, ["", *names])
    right.set_title("generation: z ~ p(z) -> x", fontsize=9)
    fig.suptitle(title, fontsize=10)
    save(fig, path)


def beta_lines(path, rows: list[dict], metrics: dict, title: str) -> None:
    """One panel per metric ({key: axis label}) against beta; symlog, so beta = 0 is shown."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.3 * len(metrics), 3.0), squeeze=False,
                             layout="constrained")  # fmt: skip
    betas = [r["beta"] for r in rows]
    for ax, (key, label) in zip(axes[0], metrics.items(), strict=True):
        ax.plot(betas, [r[key] for r in rows], marker="o")
        ax.set_xscale("symlog", linthresh=min([b for b in betas if b > 0] or [1.0]))
        ax.set_xlabel("beta")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    save(fig, path)
