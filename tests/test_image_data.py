"""Image data: IDX round trips, clear errors for bad files, scaling, splits, quadrant masks."""

import gzip
import logging

import ml_collections
import numpy as np
import pytest

import cvae_jax
from configs import quadrants as quadrants_config
from cvae_jax import data, identity
from cvae_jax.data import files
from cvae_jax.data import images as image_data
from cvae_jax.data import quadrants as quadrant_data
from cvae_jax.errors import ConfigError, DataError
from cvae_jax.studies import quadrants


def _write_mnist_dir(directory, num_train=12, num_test=5, side=28, gz=False):
    rng = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    arrays = {}
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        files.write_idx(str(directory / f"{prefix}-images-idx3-ubyte{suffix}"), images)
        files.write_idx(str(directory / f"{prefix}-labels-idx1-ubyte{suffix}"), labels)
        arrays[prefix] = (images, labels)
    return arrays


def _mnist_config(path):
    config = ml_collections.ConfigDict()
    config.name, config.path, config.seed = "mnist", str(path), 0
    config.test_fraction, config.max_train_examples, config.binarize = 0.2, 0, "none"
    return config


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32])
def test_idx_round_trip(tmp_path, gz, dtype):
    array = (np.arange(2 * 3 * 4) * 7 % 255).reshape(2, 3, 4).astype(dtype)
    path = str(tmp_path / ("a.idx" + (".gz" if gz else "")))
    files.write_idx(path, array)
    back = files.read_idx(path)
    assert back.dtype.kind == np.dtype(dtype).kind and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)
    if gz:
        with gzip.open(path) as f:  # really gzipped
            assert f.read(4) == bytes([0, 0, files._IDX_CODES[back.dtype.str[1:]], 3])


def test_truncated_idx_names_file_and_sizes(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    files.write_idx(str(path), np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(
        DataError, match=r"train-images-idx3-ubyte: header says shape \(3, 28, 28\)"
    ):
        files.read_idx(str(path))


def test_bad_magic_and_wrong_rank_are_named(tmp_path):
    bad = tmp_path / "junk"
    bad.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match=r"junk: not an IDX file.*got 504b0304"):
        files.read_idx(str(bad))
    labels = tmp_path / "labels"
    files.write_idx(str(labels), np.zeros(5, np.uint8))
    with pytest.raises(DataError, match="expected an IDX file with 3 dimension"):
        files.read_idx(str(labels), ndim=3)
    broken_gz = tmp_path / "x.gz"
    broken_gz.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(DataError, match=r"x.gz: could not be read"):
        files.read_idx(str(broken_gz))
    truncated_gz = tmp_path / "t.gz"  # a real gzipped IDX file cut in half
    files.write_idx(str(truncated_gz), np.arange(4000, dtype=np.uint8).reshape(40, 10, 10))
    truncated_gz.write_bytes(truncated_gz.read_bytes()[: truncated_gz.stat().st_size // 2])
    with pytest.raises(DataError, match=r"t.gz: could not be read as a \(gzipped\) IDX file"):
        files.read_idx(str(truncated_gz))


def test_missing_files_and_count_mismatch(tmp_path):
    with pytest.raises(DataError, match="no train-images-idx3-ubyte"):
        image_data.load_mnist_format(str(tmp_path))
    with pytest.raises(DataError, match="data.path is empty"):
        image_data.load_mnist_format("")
    _write_mnist_dir(tmp_path)
    files.write_idx(str(tmp_path / "train-labels-idx1-ubyte"), np.zeros(11, np.uint8))
    with pytest.raises(DataError, match="holds 12 images but .*train-labels-idx1-ubyte holds 11"):
        image_data.load_mnist_format(str(tmp_path))


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_directory_loads_scaled_with_official_split(tmp_path, gz):
    arrays = _write_mnist_dir(tmp_path, gz=gz)
    splits = data.load_dataset(_mnist_config(tmp_path))  # the registry gives the train split
    images, labels = arrays["train"]
    np.testing.assert_allclose(splits.x, images.reshape(12, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(splits.y, labels)
    full = data.load_splits(_mnist_config(tmp_path))
    assert full.test.x.shape == (5, 784) and full.image_shape == (28, 28)
    assert full.train.x.dtype == np.float32 and 0 <= full.train.x.min() <= full.train.x.max() <= 1


def test_npz_with_x_y_is_split_and_float_range_checked(tmp_path):
    x = np.random.default_rng(1).integers(0, 256, (50, 8, 8), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(50) % 10)
    splits = data.load_splits(_mnist_config(tmp_path / "d.npz"))
    assert splits.train.x.shape == (40, 64) and splits.test.x.shape == (10, 64)
    np.savez(tmp_path / "bad.npz", x=x.astype(np.float32), y=np.arange(50))
    with pytest.raises(DataError, match=r"bad.npz: float pixels must lie in \[0, 1\]"):
        data.load_splits(_mnist_config(tmp_path / "bad.npz"))
    np.savez(tmp_path / "keys.npz", images=x)
    with pytest.raises(DataError, match=r"expected arrays 'x' and 'y'.*found \['images'\]"):
        data.load_splits(_mnist_config(tmp_path / "keys.npz"))


def test_own_data_holds_out_a_test_set_by_default_and_warns_without_one(tmp_path, caplog):
    np.savez(
        tmp_path / "d.npz", x=np.random.default_rng(0).normal(size=(50, 3)), y=np.arange(50) % 2
    )
    config = cvae_jax.base_config().data
    config.name, config.path = "npz", str(tmp_path / "d.npz")
    assert data.load_dataset(config).x.shape[0] == 40  # data.test_fraction = 0.2 of 50
    config.test_fraction = 0.0
    with caplog.at_level(logging.WARNING):
        assert data.load_dataset(config).x.shape[0] == 50
    assert "has no test set: training on all 50 examples" in caplog.text
    config.name = "digits"  # a split needs examples in both parts
    with pytest.raises(DataError, match="test_fraction=0.0 of 1797 examples leaves 0"):
        data.load_dataset(config)


def test_digits_split_is_fixed_disjoint_and_scaled():
    digits = image_data.sklearn_digits()
    assert digits.x.shape == (1797, 64) and digits.x.min() == 0 and digits.x.max() == 1
    train, test = image_data.split(digits, 0.2, seed=3)
    again, _ = image_data.split(digits, 0.2, seed=3)
    other, _ = image_data.split(digits, 0.2, seed=4)
    assert train.x.shape[0] + test.x.shape[0] == 1797 and test.x.shape[0] == 359
    np.testing.assert_array_equal(train.x, again.x)
    assert not np.array_equal(train.x, other.x)
    rows = {r.tobytes() for r in digits.x}
    assert len(rows) > 1700  # nearly all distinct, so the check below is meaningful
    assert not {r.tobytes() for r in train.x[:200]} & {r.tobytes() for r in test.x}


def test_threshold_binarisation_and_bad_option(tmp_path):
    config = _mnist_config("")
    config.name, config.binarize = "digits", "threshold"
    splits = data.load_splits(config)
    assert set(np.unique(splits.train.x)) == {0.0, 1.0}
    config.binarize = "sometimes"
    with pytest.raises(ConfigError, match="data.binarize: Unknown binarize .sometimes."):
        data.load_splits(config)


@pytest.mark.parametrize("num_observed,count", [(1, 16), (2, 32), (3, 48)])
def test_quadrant_masks_split_and_reassemble(num_observed, count):
    mask = quadrant_data.observed_mask((8, 8), num_observed)
    assert mask.sum() == count
    grid = mask.reshape(8, 8)
    assert grid[4:, :4].all() and not grid[4:, 4:].any()  # bottom-left first, bottom-right never
    if num_observed >= 2:
        assert grid[:, :4].all()  # two quadrants: the left half
    if num_observed == 3:
        assert grid[:4, :].all()  # three: the top half too (Pyro's masks)
    images = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    split = quadrant_data.observed_split(images, mask)
    assert split.y.shape == (5, count) and split.x.shape == (5, 64 - count)
    np.testing.assert_array_equal(quadrant_data.assemble(split.y, split.x, mask), images)
    with pytest.raises(ConfigError, match="1, 2 or 3 quadrants"):
        quadrant_data.observed_mask((8, 8), 4)


def test_quadrant_order_is_a_config_key_that_checkpoints_record():
    """The order before 2026-11-27 (3 observed: predict the top-right) is one key away, and
    a run's fingerprint changes with it, so a checkpoint never resumes onto other masks."""
    old = ((1, 0), (0, 0), (1, 1), (0, 1))
    grid = quadrant_data.observed_mask((8, 8), 3, old).reshape(8, 8)
    assert grid[4:, :].all() and grid[:, :4].all() and not grid[:4, 4:].any()
    config = quadrants_config.get_config("smoke")
    before = identity.fingerprint(config)
    config.quadrant_order = old
    assert identity.fingerprint(config) != before
    config.quadrant_order = ((1, 0), (0, 0), (0, 1), (0, 1))
    with pytest.raises(ConfigError, match=r"quadrant_order=.* must list the four quadrants"):
        quadrants.check(config)
