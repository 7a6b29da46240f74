"""`data.name='npz'`: any (x, y) data set from one .npz file at `data.path`.

Expected contents: `x` float [N, D] and `y`, either integer labels [N] in [0, num_classes)
or a float condition [N, C] (with data.num_classes = 0). Every problem (a missing or
truncated file, a missing array, mismatched shapes, labels out of range) raises with the
file name and what was expected.
"""

import os
import zipfile

import numpy as np

from cvae_jax.data import Dataset, validate_dataset

EXPECTED = "an .npz with 'x' float [N, D] and 'y' int labels [N] or float condition [N, C]"


def load(data_config) -> Dataset:
    path = data_config.get("path", "")
    if not path:
        raise ValueError(f"data.name='npz' needs data.path: {EXPECTED}.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data.path={path} does not exist; expected {EXPECTED}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [name for name in ("x", "y") if name not in f.files]
            if missing:
                raise ValueError(
                    f"{path} lacks array(s) {missing}; found {f.files}; expected {EXPECTED}."
                )
            x, y = f["x"], f["y"]
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise ValueError(
            f"{path} could not be read ({type(e).__name__}: {e}); is it truncated? "
            f"Expected {EXPECTED}."
        ) from e
    x = x.reshape(len(x), -1).astype(np.float32) if x.ndim > 2 else x.astype(np.float32)
    try:
        validate_dataset(Dataset(x, y), num_classes=data_config.get("num_classes", 0))
    except ValueError as e:
        raise ValueError(f"{path}: {e} Expected {EXPECTED}.") from e
    return Dataset(x, y)
