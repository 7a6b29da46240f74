"""Atomic writes of machine-readable results: an interrupted run never leaves half a file.

JSON is strict (RFC 8259): a missing or non-finite number is written as null, never as the
NaN literal that JavaScript's JSON.parse and many tools reject.
"""

import csv
import io
import json
import math
import os
import tempfile

import numpy as np

from cvae_jax import identity


def atomic_write_bytes(path: str, payload: bytes) -> None:
    """Writes to a temporary file in the same directory, fsyncs, then renames over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _to_builtin(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def strict(obj):
    """`obj` with numpy values as Python ones and NaN/inf as None, ready for strict JSON."""
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict(v) for v in obj]
    if isinstance(obj, np.ndarray | np.generic):
        return strict(_to_builtin(obj))
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path: str, obj) -> None:
    text = json.dumps(strict(obj), indent=2, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def write_csv(path: str, rows: list[dict]) -> None:
    """One row per dict; the header is the union of keys in first-seen order; None is empty."""
    fields = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buffer.getvalue().encode())


def write_config(workdir: str, config) -> None:
    """The resolved config as JSON beside the results."""
    write_json(os.path.join(workdir, "config.json"), identity.resolved_tree(config))


def write_metrics(workdir: str, config, metrics, rows: list[dict]) -> None:
    """An experiment's standard outputs: config.json, metrics.json and metrics.csv (one row
    per member), so every experiment can be compared without rerunning it."""
    write_config(workdir, config)
    write_json(os.path.join(workdir, "metrics.json"), metrics)
    write_csv(os.path.join(workdir, "metrics.csv"), rows)


def write_study(workdir: str, config, rows: list[dict], summary: dict) -> dict:
    """`write_metrics` plus summary.json; returns the summary with the rows (for reports)."""
    write_metrics(workdir, config, rows, rows)
    write_json(os.path.join(workdir, "summary.json"), summary)
    return {**summary, "rows": rows}


def write_npz(path: str, arrays: dict) -> None:
    """Arrays (names may contain '/') as one .npz, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def save_figure(fig, path: str, dpi: int = 110) -> None:
    """A matplotlib figure as PNG, written atomically; the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
