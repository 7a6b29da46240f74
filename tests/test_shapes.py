"""The shapes data set: deterministic, every factor visible in the image (bar the rotations
of symmetric shapes), positions and scales acting as named, the factors matching the
images of each split; dSprites' loader with clear errors for a missing or malformed file."""

import ml_collections
import numpy as np
import pytest

from cvae_jax import config as config_lib
from cvae_jax import data
from cvae_jax.data import shapes
from cvae_jax.errors import ConfigError, DataError


def _config(**overrides):
    c = ml_collections.ConfigDict()
    c.name, c.seed, c.num_examples, c.num_classes, c.path = "shapes", 0, 600, 0, ""
    c.image_size, c.test_fraction, c.condition_factor = 32, 0.2, ""
    c.update(overrides)
    return c


@pytest.fixture(scope="module")
def grid():
    """The full product at 32x32 as [shape, scale, orientation, x, y, H, W]."""
    full = shapes.render(32)
    assert full.images.shape == (12288, 32 * 32) and full.images.dtype == np.float32
    assert set(np.unique(full.images)) == {0.0, 1.0}
    return full.images.reshape(*shapes.NUM_CLASSES, 32, 32)


def test_same_config_same_bytes_and_another_seed_another_subset():
    first, second = shapes.shapes_with_factors(_config()), shapes.shapes_with_factors(_config())
    for a, b in zip(
        (first[0].train.x, first[0].test.x, first[1], first[2]),
        (second[0].train.x, second[0].test.x, second[1], second[2]),
        strict=True,
    ):
        assert a.tobytes() == b.tobytes()
    other = shapes.shapes_with_factors(_config(seed=1))
    assert other[1].tobytes() != first[1].tobytes()


@pytest.mark.parametrize("factor", range(5), ids=shapes.FACTOR_NAMES)
def test_every_step_of_every_factor_changes_the_image(grid, factor):
    n = grid.shape[factor]
    a, b = np.take(grid, range(n - 1), factor), np.take(grid, range(1, n), factor)
    assert not np.any(np.all(a == b, axis=(-2, -1)))


def test_only_the_rotations_that_symmetric_shapes_absorb_repeat_an_image(grid):
    def same(shape, o1, o2):  # identical for every scale and position
        return np.all(grid[shape, :, o1] == grid[shape, :, o2])

    def any_same(shape, o1, o2):
        return np.any(np.all(grid[shape, :, o1] == grid[shape, :, o2], axis=(-2, -1)))

    square, ellipse, heart, triangle = range(4)
    for o in range(8):
        assert same(square, o, (o + 2) % 8)  # a quarter turn
        assert same(ellipse, o, (o + 4) % 8)  # a half turn
        assert not any_same(square, o, (o + 1) % 8)
        assert not any_same(ellipse, o, (o + 2) % 8)
        for other in range(o + 1, 8):  # no symmetry on the grid of eighth turns
            assert not any_same(heart, o, other)
            assert not any_same(triangle, o, other)


def test_position_moves_the_centre_of_mass(grid):
    pixels = grid.sum((-2, -1))
    rows = (grid.sum(-1) * np.arange(32)).sum(-1) / pixels
    cols = (grid.sum(-2) * np.arange(32)).sum(-1) / pixels
    assert np.all(np.diff(cols, axis=3) > 1.5)  # pos_x: right, by 2.2 pixels a step
    assert np.all(np.diff(rows, axis=4) > 1.5)  # pos_y: down
    # The other coordinate moves by rasterisation only (at most half a pixel on this grid).
    assert np.all(np.abs(np.diff(rows, axis=3)) <= 0.5)
    assert np.all(np.abs(np.diff(cols, axis=4)) <= 0.5)
    assert grid[..., 0, :].sum() + grid[..., -1, :].sum() + grid[..., 0].sum() == 0


def test_scale_increases_the_pixel_count(grid):
    assert np.all(np.diff(grid.sum((-2, -1)), axis=1) > 0)


def test_subset_size_split_and_factors_match_the_images():
    splits, train_factors, test_factors = shapes.shapes_with_factors(_config(num_examples=500))
    assert splits.train.x.shape == (400, 1024) and splits.test.x.shape == (100, 1024)
    assert train_factors.shape == (400, 5) and test_factors.shape == (100, 5)
    assert splits.image_shape == (32, 32)
    assert np.array_equal(shapes.draw(32, train_factors), splits.train.x)
    assert np.array_equal(shapes.draw(32, test_factors), splits.test.x)
    both = np.concatenate([train_factors, test_factors])
    assert len(np.unique(both, axis=0)) == 500  # without replacement
    assert splits.train.y.shape == (400, 0) and splits.train.y.dtype == np.float32
    for everything in (0, 12288, 20000):
        assert shapes.factor_table(everything)[0].shape == (12288, 5)
    classes = shapes.factor_table(0)[0]  # the full product: every combination exactly once
    assert len(np.unique(classes, axis=0)) == len(classes) == np.prod(shapes.NUM_CLASSES)


def test_64_pixels_and_conditioning_through_the_registry():
    config = _config(image_size=64, num_examples=50, condition_factor="shape", num_classes=4)
    splits = data.load_splits(config)
    _, train_factors, _ = shapes.shapes_with_factors(config)
    assert splits.image_shape == (64, 64) and splits.train.x.shape == (40, 64 * 64)
    assert np.array_equal(splits.train.y, train_factors[:, 0])
    data.validate_dataset(splits.train, num_classes=4)


def test_config_validation_knows_the_keys():
    config = config_lib.base_config()
    config.data.name, config.data.num_classes = "shapes", 8
    config.data.image_size, config.data.test_fraction = 32, 0.2
    config.data.condition_factor = "orientation"
    config_lib.validate(config)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"condition_factor": "colour"}, "Unknown factor 'colour'; choose one of shape,"),
        ({"condition_factor": "scale", "num_classes": 4}, "has 6 classes; set data.num_classes=6"),
        ({"num_classes": 2}, "condition_factor is '' .*set data.num_classes=0"),
        ({"image_size": 8}, "data.image_size=8 is too small"),
    ],
)
def test_config_mistakes_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        shapes.shapes_with_factors(_config(num_examples=20, **overrides))


def _fake_dsprites(path, n=30, **drop):
    rng = np.random.default_rng(0)
    classes = np.stack(
        [np.zeros(n), *(rng.integers(0, k, n) for k in (3, 6, 40, 32, 32))], 1
    ).astype(np.int64)
    arrays = {
        "imgs": rng.integers(0, 2, (n, 64, 64), dtype=np.uint8),
        "latents_classes": classes,
        "latents_values": classes.astype(np.float64) / 10,
        "metadata": np.array({"title": "dSprites"}, dtype=object),  # pickled, never read
    }
    for key in drop:
        arrays.pop(key)
    np.savez_compressed(path, **arrays)
    return arrays


def test_dsprites_loads_the_official_arrays_without_colour(tmp_path):
    path = tmp_path / shapes.DSPRITES_FILE
    arrays = _fake_dsprites(path)
    config = _config(name="dsprites", path=str(path), num_examples=20, condition_factor="shape")
    splits, train_factors, test_factors = shapes.shapes_with_factors(config)
    assert splits.image_shape == (64, 64) and len(train_factors) + len(test_factors) == 20
    assert np.array_equal(splits.train.y, train_factors[:, 0])
    full = shapes.load_dsprites(str(path))
    assert np.array_equal(full.factor_classes, arrays["latents_classes"][:, 1:])
    assert np.array_equal(full.images, arrays["imgs"].reshape(30, -1).astype(np.float32))


def test_dsprites_missing_or_malformed_file_is_one_line(tmp_path):
    missing = tmp_path / "nowhere.npz"
    with pytest.raises(DataError, match=r"nowhere.npz' is not a file; expected dSprites'") as e:
        shapes.load_dsprites(str(missing))
    assert "\n" not in str(e.value) and shapes.DSPRITES_FILE in str(e.value)
    _fake_dsprites(tmp_path / "partial.npz", latents_values=None)
    with pytest.raises(DataError, match=r"lacks array\(s\) \['latents_values'\]"):
        shapes.load_dsprites(str(tmp_path / "partial.npz"))
    arrays = _fake_dsprites(tmp_path / "wide.npz")
    np.savez(tmp_path / "wide.npz", **{**arrays, "latents_classes": np.zeros((30, 5), int)})
    with pytest.raises(DataError, match=r"latents_values \[N, 6\]; got \(30, 64, 64\), \(30, 5\)"):
        shapes.load_dsprites(str(tmp_path / "wide.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="could not be read") as e:
        shapes.load_dsprites(str(tmp_path / "junk.npz"))
    assert "\n" not in str(e.value)
