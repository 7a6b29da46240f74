"""Image data sets: scikit-learn's bundled digits, and MNIST-format files the user provides.

Every loader returns flat float32 images in [0, 1] ([N, H*W]) with int32 labels, split into
train and test with a fixed seed (or the official files' own split). Nothing is downloaded:
  data.name = 'digits'                       8x8 digits shipped inside scikit-learn
  data.name = 'mnist' | 'fashion_mnist'      data.path = a directory holding the IDX files
                                             ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])
                                             or an .npz file with x/y (or x_train/y_train/...)
"""

import gzip
import os
from typing import NamedTuple

import numpy as np

from cvae_jax.data import Dataset

IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist")
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(v).str.lstrip("<>|"): k for k, v in _IDX_DTYPES.items()}


class ImageSplits(NamedTuple):
    train: Dataset
    test: Dataset
    image_shape: tuple[int, int]


def _open(path: str):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def read_idx(path: str, ndim: int | None = None) -> np.ndarray:
    """Reads one IDX file (optionally gzipped); raises ValueError naming the file and the problem."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"IDX file {path} does not exist.")
    try:
        with _open(path) as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: could not be read as a (gzipped) IDX file: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"{path}: not an IDX file; expected a 4-byte magic number 0x0000<dtype><ndim> "
            f"with dtype 0x08 (unsigned byte), got {raw[:4].hex() or 'an empty file'}."
        )
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{path}: expected an IDX file with {ndim} dimension(s), found {dims}.")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise ValueError(f"{path}: truncated header; expected {header} bytes, found {len(raw)}.")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(
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
    raise FileNotFoundError(
        f"{directory}: no {stem}[.gz] found; an MNIST-format directory needs "
        "train-images-idx3-ubyte and train-labels-idx1-ubyte (and optionally the t10k-* pair), "
        "each optionally gzipped."
    )


def _idx_pair(directory: str, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images_path = _find(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_path, ndim=3), read_idx(labels_path, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} holds {images.shape[0]} images but {labels_path} holds "
            f"{labels.shape[0]} labels; they must match."
        )
    return images, labels


def scale_pixels(images: np.ndarray, source: str) -> np.ndarray:
    """Integer pixels are divided by 255; float pixels must already lie in [0, 1]."""
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(
            f"{source}: float pixels must lie in [0, 1]; found [{images.min()}, {images.max()}]."
        )
    return images


def _dataset(images, labels, source: str) -> Dataset:
    images = np.asarray(images)
    if images.ndim == 2:  # flat; must be square
        side = int(round(np.sqrt(images.shape[1])))
        images = images.reshape(-1, side, side)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"{source}: expected square images [N, H, W]; got {images.shape}.")
    labels = np.asarray(labels).reshape(-1).astype(np.int32)
    x = scale_pixels(images, source).reshape(images.shape[0], -1)
    return Dataset(x, labels)


def load_npz(path: str) -> tuple[Dataset, Dataset | None]:
    """(all, None) from keys x/y, or (train, test) from x_train/y_train/x_test/y_test."""
    with np.load(path) as f:
        keys = set(f.files)
        if {"x", "y"} <= keys:
            return _dataset(f["x"], f["y"], path), None
        if {"x_train", "y_train", "x_test", "y_test"} <= keys:
            return _dataset(f["x_train"], f["y_train"], path), _dataset(
                f["x_test"], f["y_test"], path
            )
    raise ValueError(
        f"{path}: expected arrays 'x' and 'y' (or x_train, y_train, x_test, y_test); "
        f"found {sorted(keys)}."
    )


def load_mnist_format(path: str) -> tuple[Dataset, Dataset | None]:
    """MNIST/Fashion-MNIST from an IDX directory or an .npz file; test is None if not given."""
    if not path:
        raise ValueError(
            "data.path is empty: point it at the directory with the MNIST IDX files, e.g. "
            "--config.data.path=/data/mnist (nothing is downloaded)."
        )
    if path.endswith(".npz"):
        if not os.path.exists(path):
            raise FileNotFoundError(f".npz file {path} does not exist.")
        return load_npz(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"data.path={path} is neither a directory nor an .npz file.")
    train = _dataset(*_idx_pair(path, "train"), path)
    has_test = any(
        os.path.exists(os.path.join(path, "t10k-images-idx3-ubyte" + s)) for s in ("", ".gz")
    )
    return train, (_dataset(*_idx_pair(path, "t10k"), path) if has_test else None)


def sklearn_digits() -> Dataset:
    """The 1,797 8x8 digits bundled with scikit-learn (pixel values 0..16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset((bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int32))


def split(data: Dataset, test_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A random train/test split that depends only on `seed`."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"data.test_fraction must lie in (0, 1); got {test_fraction}.")
    order = np.random.default_rng(seed).permutation(data.x.shape[0])
    num_test = int(round(test_fraction * len(order)))
    test, train = order[:num_test], order[num_test:]
    return Dataset(data.x[train], data.y[train]), Dataset(data.x[test], data.y[test])


def threshold(data: Dataset, level: float = 0.5) -> Dataset:
    """Deterministic binarisation: pixel > level."""
    return Dataset((data.x > level).astype(np.float32), data.y)


def sample_binary(data: Dataset, seed: int) -> Dataset:
    """One fixed stochastic binarisation, x ~ Bernoulli(pixel): the test set of a dynamic run."""
    u = np.random.default_rng(seed).random(data.x.shape, dtype=np.float32)
    return Dataset((u < data.x).astype(np.float32), data.y)


def load_splits(data_config) -> ImageSplits:
    """Train and test splits of the image data set named by `data_config.name`."""
    name = data_config.name
    if name == "digits":
        train, test = split(sklearn_digits(), data_config.test_fraction, data_config.seed)
    elif name in ("mnist", "fashion_mnist"):
        train, test = load_mnist_format(data_config.path)
        if test is None:
            train, test = split(train, data_config.test_fraction, data_config.seed)
    else:
        raise ValueError(f"Unknown image data set {name!r}; choose one of {IMAGE_DATASETS}.")
    limit = data_config.get("max_train_examples", 0)
    train = Dataset(train.x[:limit], train.y[:limit]) if limit else train
    binarize = data_config.get("binarize", "none")
    if binarize == "threshold":
        train, test = threshold(train), threshold(test)
    elif binarize not in ("none", "dynamic"):  # dynamic: binarised in the train step
        raise ValueError(f"data.binarize={binarize!r}; use 'none', 'dynamic' or 'threshold'.")
    side = int(round(np.sqrt(train.x.shape[1])))
    return ImageSplits(train, test, (side, side))
