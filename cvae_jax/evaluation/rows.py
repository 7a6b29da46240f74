"""Result tables: one row per sweep member, training results beside evaluation metrics."""

import numpy as np


def member_rows(sweep, metrics: dict, **labels) -> list[dict]:
    """One row per (seed, beta) of `sweep` (a SweepResult), in its order.

    Columns: the hyperparameters and final training metrics (`sweep.rows()`), then `labels`
    (e.g. variant='standard'), then `metrics` ({name: [S, H, ...]}): a scalar per member
    becomes one column, a vector `<name>_per_label` [S, H, C] one column `<name>_y<c>` per
    label, a vector `<name>_per_layer` [S, H, L] one column `<name>_layer<l>` per stochastic
    layer (l = 1..L, bottom-up); larger arrays (images for figures) are left out.
    """
    rows = sweep.rows()
    num_betas = len(sweep.hyper["beta"])
    for i, row in enumerate(rows):
        s, h = divmod(i, num_betas)
        row.update(labels)
        for name, value in metrics.items():
            value = np.asarray(value[s, h])
            if value.ndim == 0:
                row[name] = value.item()
            elif value.ndim == 1 and name.endswith("_per_layer"):
                base = name.removesuffix("_per_layer")
                row.update({f"{base}_layer{i}": float(v) for i, v in enumerate(value, 1)})
            elif value.ndim == 1:
                base = name.removesuffix("_per_label")
                row.update({f"{base}_y{c}": float(v) for c, v in enumerate(value)})
    return rows


def family_columns(config) -> dict:
    """The latent family's settings, as row columns: prior, posterior, stochastic layers and
    the importance samples k of the training objective (1: the ELBO)."""
    m = config.model
    return {
        "prior": m.prior,
        "posterior": m.get("posterior", "gaussian"),
        "layers": max(len(m.get("latent_dims", ())), 1),
        "iwae_samples": int(config.objective.get("iwae_samples", 1)),
    }
