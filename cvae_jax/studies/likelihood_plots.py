"""The likelihood benchmark's table and its curves of the validation bound against epochs."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from cvae_jax.runs import results  # noqa: E402


def _by_variant(rows) -> dict:
    grouped = {}
    for row in rows:
        grouped.setdefault(row["variant"], []).append(row)
    return grouped


def table_markdown(rows) -> str:
    """One line per row of the benchmark: ours (mean ± std over seeds) beside the paper's."""
    lines = [
        "| row | -log p(x) ours | published | ours - published | epochs trained (best) "
        "| binarisation | k | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, group in _by_variant(rows).items():
        nll = np.array([r["test_nll"] for r in group])
        spread = f" ± {nll.std():.2f}" if len(nll) > 1 else ""
        published = group[0]["published_nll"]
        diff = f"{nll.mean() - published:+.2f}" if published is not None else "-"
        best = np.mean([r["best_epoch"] for r in group])
        measure = "-log p(x|y)" if group[0]["conditioned"] else "-log p(x)"
        lines.append(
            f"| {name} ({measure}) | {nll.mean():.2f}{spread} | "
            f"{published if published is not None else '-'} | {diff} | "
            f"{group[0]['epochs_trained']:.0f} ({best:.0f}) | {group[0]['binarisation']} | "
            f"{group[0]['test_samples']} | {group[0]['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def curves(path: str, curve_rows, rows) -> None:
    """The validation bound per epoch, one line per row (seed 0), the published figure dashed."""
    fig, ax = plt.subplots(figsize=(8, 5))
    grouped = _by_variant(curve_rows)
    colours = plt.get_cmap("tab10" if len(grouped) <= 10 else "tab20").colors
    published = {r["variant"]: r["published_nll"] for r in rows}
    for i, (name, group) in enumerate(grouped.items()):
        seed = min(r["seed"] for r in group)
        points = [(r["epoch"], r["validation_nll_bound"]) for r in group if r["seed"] == seed]
        epochs, values = np.array(points).T
        colour = colours[i % len(colours)]
        ax.plot(epochs, values, color=colour, label=name, marker="." if len(epochs) < 30 else None)
        if published.get(name) is not None:
            ax.axhline(published[name], color=colour, linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation -ELBO / -IWAE_k (nats); dashed: published test -log p(x)")
    ax.set_xscale("log")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    results.save_figure(fig, path)
