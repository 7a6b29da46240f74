"""Figures of the families study: samples per family and the VampPrior's pseudo-inputs.

They draw from arrays the study already computed (`families.family_images`); nothing here
trains. Every figure is written atomically by `results.save_figure`.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from cvae_jax.runs.results import save_figure as save  # noqa: E402
from cvae_jax.studies.image_plots import show_grid  # noqa: E402


def samples(path, pictures: dict, image_shape, title: str, per_row: int = 4) -> None:
    """One panel per family: rows = labels, columns = samples from p(x|y) via z ~ p(z|y)."""
    names = list(pictures)
    cols = min(per_row, len(names))
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.8 * cols, 3.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        grid = pictures[name]["samples"]
        ax.axis("on")
        show_grid(ax, grid, image_shape, row_labels=[str(i) for i in range(grid.shape[0])])
        ax.set_title(name, fontsize=11)
    fig.suptitle(title, fontsize=12)
    save(fig, path)


def pseudo_inputs(path, pictures: dict, image_shape) -> None:
    """Each VampPrior's pseudo-inputs u_k (top row) and the decoded centres of q(z|u_k, y_k)
    (bottom row); nothing is written when no family has a VampPrior."""
    vamps = {name: p["pseudo_inputs"] for name, p in pictures.items() if "pseudo_inputs" in p}
    if not vamps:
        return
    fig, axes = plt.subplots(len(vamps), 1, figsize=(12, 1.6 * len(vamps)), squeeze=False)
    for ax, (name, grid) in zip(axes[:, 0], vamps.items(), strict=True):
        show_grid(ax, grid[:, :24], image_shape, row_labels=["u_k", "decoded"])
        ax.set_title(f"{name}: pseudo-inputs (first 24)", fontsize=11)
    save(fig, path)
