"""Atomic writes of machine-readable results: an interrupted run never leaves half a file."""

import csv
import io
import json
import os
import tempfile

import numpy as np


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


def write_json(path: str, obj) -> None:
    text = json.dumps(obj, indent=2, default=_to_builtin, allow_nan=True)
    atomic_write_bytes(path, (text + "\n").encode())


def write_csv(path: str, rows: list[dict]) -> None:
    """One row per dict; the header is the union of keys in first-seen order."""
    fields = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_bytes(path, buffer.getvalue().encode())


def write_config(workdir: str, config) -> None:
    """The resolved config as JSON beside the results."""
    write_json(os.path.join(workdir, "config.json"), json.loads(config.to_json_best_effort()))


def write_metrics(workdir: str, config, metrics, rows: list[dict]) -> None:
    """An experiment's standard outputs: config.json, metrics.json and metrics.csv (one row
    per member), so every experiment can be compared without rerunning it."""
    write_config(workdir, config)
    write_json(os.path.join(workdir, "metrics.json"), metrics)
    write_csv(os.path.join(workdir, "metrics.csv"), rows)


def write_npz(path: str, arrays: dict) -> None:
    """Arrays (names may contain '/') as one .npz, written atomically."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def save_figure(fig, path: str, dpi: int = 110) -> None:
    """A matplotlib figure as PNG, written atomically."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
