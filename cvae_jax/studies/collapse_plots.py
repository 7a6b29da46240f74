"""Figures of the collapse study: diagnostics against the decoder window, and samples with z
fixed per row. Drawn from the rows and arrays the study computed; written atomically."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvae_jax.runs.results import save_figure  # noqa: E402
from cvae_jax.studies.grid_plots import seed_means  # noqa: E402
from cvae_jax.studies.image_plots import show_grid  # noqa: E402

PANELS = {
    "test_rate": "rate KL(q(z|x,y) || p(z|y)) (nats)",
    "active_units": "active units",
    "z_share": "z-share of sample variance",
    "test_iwae": "test IWAE bound (nats)",
}


def against_window(path, rows: list[dict], title: str) -> None:
    """One panel per diagnostic against the window; a line per (beta, remedy), seed means."""
    windows = sorted({r["window"] for r in rows})
    position = {w: i for i, w in enumerate(windows)}  # evenly spaced: 0, 1, 3, full
    fig, axes = plt.subplots(1, len(PANELS), figsize=(3.8 * len(PANELS), 3.4), squeeze=False)
    for ax, (metric, label) in zip(axes[0], PANELS.items(), strict=True):
        means = seed_means(rows, ["beta", "remedy", "window"], metric)
        for beta, how in dict.fromkeys((b, h) for b, h, _ in means):
            ws = [w for w in windows if (beta, how, w) in means]
            ax.plot(
                [position[w] for w in ws], [means[(beta, how, w)] for w in ws], marker="o",
                label=f"beta {beta:g}, {how}",
            )  # fmt: skip
        ax.set_xticks(range(len(windows)), [str(w) for w in windows])
        ax.set_xlabel("decoder window (pixels of context)")
        ax.set_ylabel(label, fontsize=8)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)


def fixed_latent_samples(path, pictures: dict, image_shape, title: str) -> None:
    """Panels of samples [R, M, D] keyed (variant, beta, remedy): rows by variant, columns by
    (beta, remedy); in a panel each row holds one z and the draws x ~ p(x|z,y) along it."""
    names = list(dict.fromkeys(k[0] for k in pictures))
    settings = list(dict.fromkeys(k[1:] for k in pictures))
    rows, cols = np.asarray(next(iter(pictures.values()))).shape[:2]
    panel = 2.4  # inches per panel's width; its height follows the mosaic's shape
    size = (panel * len(settings), (panel * rows / cols + 0.3) * len(names) + 0.6)
    fig, axes = plt.subplots(len(names), len(settings), figsize=size, squeeze=False)
    for i, name in enumerate(names):
        for j, (beta, how) in enumerate(settings):
            ax = axes[i, j]
            images = pictures.get((name, beta, how))
            if images is None:
                ax.axis("off")
                continue
            show_grid(ax, np.asarray(images), image_shape)
            if i == 0:
                ax.set_title(f"beta {beta:g}\n{how}", fontsize=7)
            if j == 0:
                ax.set_ylabel(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)
