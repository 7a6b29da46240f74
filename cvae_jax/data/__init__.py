"""Data sets by name (`data.name`), the Dataset type, file readers and quadrant masks."""

# Importing the loaders registers their data sets.
from cvae_jax.data import files, images, shapes, synthetic  # noqa: F401
from cvae_jax.data.dataset import (
    Dataset,
    Splits,
    sample_batch,
    split,
    validate_dataset,
    without_condition,
)
from cvae_jax.data.registry import DATASETS, describe, load_dataset, load_splits

__all__ = [
    "DATASETS",
    "Dataset",
    "Splits",
    "describe",
    "load_dataset",
    "load_splits",
    "sample_batch",
    "split",
    "validate_dataset",
    "without_condition",
]
