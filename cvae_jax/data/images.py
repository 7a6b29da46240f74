"""Image data sets: scikit-learn's bundled digits, and MNIST-format files the user provides.

Every loader returns flat float32 images in [0, 1] ([N, H*W]) with int32 labels, split into
train and test with a fixed seed (or the official files' own split). Nothing is downloaded:
  data.name = 'digits'                       8x8 digits shipped inside scikit-learn
  data.name = 'mnist' | 'fashion_mnist'      data.path = a directory holding the IDX files
                                             ({train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz])
                                             or an .npz file with x/y (or x_train/y_train/...)
"""

import os

import numpy as np

from cvae_jax import checks
from cvae_jax.data.dataset import Dataset, Splits, split
from cvae_jax.data.files import idx_pair, read_npz
from cvae_jax.data.registry import DATASETS
from cvae_jax.errors import DataError

IMAGE_KEYS = ("path", "binarize", "max_train_examples", "test_fraction")
BINARIZE = ("none", "dynamic", "threshold")  # dynamic: binarised afresh in every train step
_NPZ = "an .npz with arrays 'x' and 'y' (or x_train, y_train, x_test, y_test)"


def scale_pixels(images: np.ndarray, source: str) -> np.ndarray:
    """Integer pixels are divided by 255; float pixels must already lie in [0, 1]."""
    if np.issubdtype(images.dtype, np.integer):
        return images.astype(np.float32) / 255.0
    images = images.astype(np.float32)
    if images.size and (images.min() < 0 or images.max() > 1):
        raise DataError(
            f"{source}: float pixels must lie in [0, 1]; found [{images.min()}, {images.max()}]."
        )
    return images


def _dataset(images, labels, source: str) -> Dataset:
    images = np.asarray(images)
    side = int(round(np.sqrt(images.shape[1]))) if images.ndim == 2 else 0
    if images.ndim == 2 and side * side == images.shape[1]:  # flat square images
        images = images.reshape(-1, side, side)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise DataError(f"{source}: expected square images [N, H, W]; got {images.shape}.")
    labels = np.asarray(labels).reshape(-1).astype(np.int32)
    if labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{source}: {images.shape[0]} images but {labels.shape[0]} labels; they must match."
        )
    x = scale_pixels(images, source).reshape(images.shape[0], -1)
    return Dataset(x, labels)


def load_npz(path: str) -> tuple[Dataset, Dataset | None]:
    """(all, None) from keys x/y, or (train, test) from x_train/y_train/x_test/y_test."""
    f = read_npz(path, _NPZ)
    if {"x", "y"} <= f.keys():
        return _dataset(f["x"], f["y"], path), None
    if {"x_train", "y_train", "x_test", "y_test"} <= f.keys():
        return _dataset(f["x_train"], f["y_train"], path), _dataset(f["x_test"], f["y_test"], path)
    raise DataError(
        f"{path}: expected arrays 'x' and 'y' (or x_train, y_train, x_test, y_test); "
        f"found {sorted(f)}."
    )


def load_mnist_format(path: str) -> tuple[Dataset, Dataset | None]:
    """MNIST/Fashion-MNIST from an IDX directory or an .npz file; test is None if not given."""
    if not path:
        raise DataError(
            "data.path is empty: point it at the directory with the MNIST IDX files, e.g. "
            "--config.data.path=/data/mnist (nothing is downloaded)."
        )
    if path.endswith(".npz"):
        return load_npz(path)
    if not os.path.isdir(path):
        raise DataError(f"data.path={path} is neither a directory nor an .npz file.")
    train = _dataset(*idx_pair(path, "train"), path)
    has_test = any(
        os.path.exists(os.path.join(path, "t10k-images-idx3-ubyte" + s)) for s in ("", ".gz")
    )
    if not has_test:
        return train, None
    test = _dataset(*idx_pair(path, "t10k"), path)
    if test.x.shape[1:] != train.x.shape[1:]:
        side = int(round(np.sqrt(test.x.shape[1])))
        raise DataError(
            f"{os.path.join(path, 't10k-images-idx3-ubyte')}: {side}x{side} images, but the "
            f"training images are {int(round(np.sqrt(train.x.shape[1])))}x"
            f"{int(round(np.sqrt(train.x.shape[1])))}; both files must hold the same size."
        )
    return train, test


def sklearn_digits() -> Dataset:
    """The 1,797 8x8 digits bundled with scikit-learn (pixel values 0..16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return Dataset((bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int32))


def threshold(data: Dataset, level: float = 0.5) -> Dataset:
    """Deterministic binarisation: pixel > level."""
    return Dataset((data.x > level).astype(np.float32), data.y)


def sample_binary(data: Dataset, seed: int) -> Dataset:
    """One fixed stochastic binarisation, x ~ Bernoulli(pixel): the test set of a dynamic run."""
    u = np.random.default_rng(seed).random(data.x.shape, dtype=np.float32)
    return Dataset((u < data.x).astype(np.float32), data.y)


def test_as_trained(data_config, test: Dataset) -> Dataset:
    """The test images as the model saw its training data: binarised once, with a fixed seed,
    when training binarised afresh each step (`data.binarize='dynamic'`)."""
    if data_config.get("binarize", "none") == "dynamic":
        return sample_binary(test, data_config.seed)
    return test


def _finish(train: Dataset, test: Dataset, data_config) -> Splits:
    """Training-set cap and binarisation, common to every image data set."""
    limit = data_config.get("max_train_examples", 0)
    train = Dataset(train.x[:limit], train.y[:limit]) if limit else train
    binarize = data_config.get("binarize", "none")
    checks.choice("data.binarize", binarize, BINARIZE)
    if binarize == "threshold":
        train, test = threshold(train), threshold(test)
    side = int(round(np.sqrt(train.x.shape[1])))
    return Splits(train, test, (side, side))


@DATASETS.register("digits", config_keys=IMAGE_KEYS)
def digits_splits(data_config) -> Splits:
    train, test = split(sklearn_digits(), data_config.test_fraction, data_config.seed)
    return _finish(train, test, data_config)


@DATASETS.register("mnist", config_keys=IMAGE_KEYS)
@DATASETS.register("fashion_mnist", config_keys=IMAGE_KEYS)
def mnist_splits(data_config) -> Splits:
    train, test = load_mnist_format(data_config.path)
    if test is None:
        train, test = split(train, data_config.test_fraction, data_config.seed)
    return _finish(train, test, data_config)
