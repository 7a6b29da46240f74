"""Readers of the file formats a user's data comes in: IDX (MNIST's format) and .npz.

Each reader raises DataError naming the file, the problem and what was expected: a missing
or truncated file, a wrong magic number or rank, mismatched image and label counts.
"""

import gzip
import os
import zipfile
import zlib

import numpy as np

from cvae_jax.data.dataset import Dataset, Splits, split, validate_dataset
from cvae_jax.data.registry import DATASETS
from cvae_jax.errors import DataError

NPZ_XY = "an .npz with 'x' float [N, D] and 'y' int labels [N] or float condition [N, C]"

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).str.lstrip("<>|"): k for k, v in _IDX_DTYPES.items()}


def _open(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """Reads one IDX file (optionally gzipped); raises DataError naming the file and the problem."""
    if not os.path.exists(path):
        raise DataError(f"IDX file {path} does not exist.")
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: could not be read as a (gzipped) IDX file: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(
            f"{path}: not an IDX file; expected a 4-byte magic number 0x0000<dtype><ndim> "
            f"with dtype 0x08 (unsigned byte), got {raw[:4].hex() or 'an empty file'}."
        )
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise DataError(f"{path}: expected an IDX file with {ndim} dimension(s), found {dims}.")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated header; expected {header} bytes, found {len(raw)}.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(
            f"{path}: header says shape {shape} ({expected} bytes in all) but the file has "
            f"{len(raw)} bytes; it is truncated or corrupt."
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape)


def write_idx(path: str, array: np.ndarray) -> None:
    """Writes `array` as an IDX file (gzipped if `path` ends in .gz); the inverse of read_idx."""
    array = np.asarray(array)
    code = _IDX_CODES[array.dtype.str.lstrip("<>|")]
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    big_endian = array.astype(np.dtype(_IDX_DTYPES[code]), copy=False)
    payload = header + big_endian.tobytes()
    with gzip.open(path, "wb") if path.endswith(".gz") else open(path, "wb") as f:
        f.write(payload)


def _find(directory: str, stem: str) -> str:
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    raise DataError(
        f"{directory}: no {stem}[.gz] found; an MNIST-format directory needs "
        "train-images-idx3-ubyte and train-labels-idx1-ubyte (and optionally the t10k-* pair), "
        "each optionally gzipped."
    )


def idx_pair(directory: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels; they must match."
        )
    return images, labels


def read_npz(path: str, expected: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file; `expected` describes its contents for the messages."""
    if not path:
        raise DataError(f"data.path is empty; point it at {expected}.")
    if not os.path.isfile(path):
        raise DataError(f"data.path={path} does not exist; expected {expected}.")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as f:
                return {name: f[name] for name in f.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(
            f"{path} could not be read ({type(e).__name__}: {e}); is it truncated? "
            f"Expected {expected}."
        ) from e
    raise DataError(f"{path} holds a single array, not an .npz archive; expected {expected}.")


@DATASETS.register("npz", config_keys=("path", "test_fraction"))
def load_npz_xy(data_config) -> Splits:
    """`data.name='npz'`: any (x, y) data set from one .npz at `data.path`.

    x [N, ...] is flattened to [N, D] (x [N, H, W] is kept as images for the figures); y is
    integer labels [N] or a float condition [N, C]. With integer labels, data.num_classes=0
    accepts any labels >= 0 (the caller infers the number of classes: `num_classes_of`).
    `data.test_fraction` > 0 holds out that fraction as the test set (seeded by data.seed).
    """
    path = data_config.get("path", "")
    arrays = read_npz(path, NPZ_XY)
    missing = [name for name in ("x", "y") if name not in arrays]
    if missing:
        raise DataError(
            f"{path} lacks array(s) {missing}; found {sorted(arrays)}; expected {NPZ_XY}."
        )
    x, y = arrays["x"], arrays["y"]
    if len(x) == 0 or len(y) == 0:
        raise DataError(
            f"{path}: x has {len(x)} rows and y {len(y)}; a data set needs at least one "
            f"example. Expected {NPZ_XY}."
        )
    image_shape = tuple(x.shape[1:]) if x.ndim == 3 else None
    x = x.reshape(len(x), -1).astype(np.float32)
    data = Dataset(x, y)
    try:
        validate_dataset(data, num_classes=data_config.get("num_classes", 0) or num_classes_of(y))
    except DataError as e:
        raise DataError(f"{path}: {e} Expected {NPZ_XY}.") from e
    test_fraction = data_config.get("test_fraction", 0.0)
    if not test_fraction:
        return Splits(data, None, image_shape)
    return Splits(*split(data, test_fraction, data_config.get("seed", 0)), image_shape)


def num_classes_of(labels) -> int:
    """max + 1 of integer labels (0 for a float condition, which has no classes)."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer) or labels.size == 0:
        return 0
    return int(labels.max()) + 1
