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
    """Per row (its first seed and grid point): the validation bound per epoch (line), the
    validation -log p(x) at the milestones (circles) and the published figure (dashed)."""
    fig, ax = plt.subplots(figsize=(8, 5))
    grouped = _by_variant(curve_rows)
    colours = plt.get_cmap("tab10" if len(grouped) <= 10 else "tab20").colors
    published = {r["variant"]: r["published_nll"] for r in rows}
    for i, (name, group) in enumerate(grouped.items()):
        seed = min(r["seed"] for r in group)
        first = [r for r in group if r["seed"] == seed and r.get("grid_point", 0) == 0]
        epochs, bound = np.array([(r["epoch"], r["validation_nll_bound"]) for r in first]).T
        colour = colours[i % len(colours)]
        ax.plot(epochs, bound, color=colour, label=name, marker="." if len(epochs) < 30 else None)
        measured = [(r["epoch"], r["validation_nll"]) for r in first if r.get("validation_nll")]
        if measured:
            ax.plot(*np.array(measured).T, color=colour, marker="o", linestyle=":")
        if published.get(name) is not None:
            ax.axhline(published[name], color=colour, linestyle="--", linewidth=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats: validation -ELBO / -IWAE_k (lines), validation -log p(x) (circles)")
    ax.set_title("dashed: published test -log p(x)", fontsize=9)
    ax.set_xscale("log")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    results.save_figure(fig, path)
