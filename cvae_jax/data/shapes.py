"""Binary sprites with known generative factors: dSprites-like shapes drawn here, or the
official dSprites file (Matthey et al. 2017) that the user provides.

  data.name = 'shapes'    4 shapes (square, ellipse, heart, triangle) x 6 scales in [0.5, 1]
                          x 8 orientations k * 2pi/8 x 8 x-positions x 8 y-positions =
                          12,288 images of data.image_size^2 pixels (32 by default, or 64),
                          drawn deterministically with NumPy; nothing is downloaded
  data.name = 'dsprites'  data.path = dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz (keys
                          imgs, latents_classes, latents_values); 3 shapes x 6 x 40 x 32 x 32,
                          64x64; the constant colour factor is dropped

Both share the factor names below. data.num_examples images are a seeded subset (all of
them when it is 0 or at least the grid's size, e.g. 12288; config validation wants >= 1),
split into train and test by data.test_fraction (0.2 when unset) and data.seed.
data.condition_factor names the factor whose class is y (set data.num_classes to its
number of classes, or 0 to have it counted); '' (the default) gives an unconditional data
set (y of width 0, data.num_classes=0). `shapes_with_factors` returns the factor classes
of the same train and test images, for the disentanglement metrics. Positions are in image
order: pos_x moves the shape right, pos_y down. dSprites' file decompresses to 3 GB of
uint8 before its subset is taken, and all 737,280 images are 12 GB as float32.

Orientation is not identifiable for symmetric shapes: a square drawn at k and k + 2 (a
quarter turn apart) and an ellipse at k and k + 4 (a half turn) give the same image, as in
dSprites, whose 40 orientations of the square and ellipse repeat in the same way.
"""

import os
import zipfile
from typing import NamedTuple

import numpy as np

from cvae_jax.data.dataset import Dataset, Splits, split, without_condition
from cvae_jax.data.registry import DATASETS
from cvae_jax.errors import ConfigError, DataError

FACTOR_NAMES = ("shape", "scale", "orientation", "pos_x", "pos_y")
SHAPES = ("square", "ellipse", "heart", "triangle")  # dSprites' order for the first three
NUM_CLASSES = (len(SHAPES), 6, 8, 8, 8)
DSPRITES_FILE = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
_DSPRITES_ARRAYS = ("imgs", "latents_classes", "latents_values")
RADIUS = 0.225  # of the side, at scale 1 (every step of every factor changes the image)
_EXTENT = 1.0
_CHUNK = 1024  # images drawn at a time: memory O(chunk * size^2)


class FactorImages(NamedTuple):
    images: np.ndarray  # [N, H*W] float32 in {0, 1}
    factor_classes: np.ndarray  # [N, F] int32
    factor_values: np.ndarray  # [N, F] float32: shape index, scale, radians, x and y in [0, 1]
    factor_names: tuple[str, ...]


def _subset(total: int, num_examples: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset without replacement; all of them when
    num_examples is 0 or at least `total`."""
    if not 0 < num_examples < total:
        return np.arange(total)
    rng = np.random.default_rng((seed, 0x5A))  # a stream apart from split's, also seeded
    return np.sort(rng.choice(total, num_examples, replace=False))


def factor_levels() -> tuple[np.ndarray, ...]:
    """Each factor's values, float64: shape index, scale, radians, x and y in [0, 1]."""
    return (
        np.arange(len(SHAPES), dtype=np.float64),
        np.linspace(0.5, 1.0, NUM_CLASSES[1]),
        2 * np.pi * np.arange(NUM_CLASSES[2]) / NUM_CLASSES[2],
        np.linspace(0.0, 1.0, NUM_CLASSES[3]),
        np.linspace(0.0, 1.0, NUM_CLASSES[4]),
    )


def _values(classes: np.ndarray) -> np.ndarray:
    """Factor values [N, F] float64 of factor classes [N, F]."""
    return np.stack([v[c] for v, c in zip(factor_levels(), classes.T, strict=True)], 1)


def factor_table(num_examples: int = 0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(classes [N, F] int32, values [N, F] float32) of the full product of the factors in
    C order (shape slowest, pos_y fastest) or of a seeded subset of `num_examples` rows."""
    index = _subset(int(np.prod(NUM_CLASSES)), num_examples, seed)
    classes = np.stack(np.unravel_index(index, NUM_CLASSES), 1).astype(np.int32)
    return classes, _values(classes).astype(np.float32)


def _inside(shape: int, u: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Whether (u, w) (w pointing up, one radius = 1) lies inside the shape."""
    if shape == 0:  # square, half side 0.7
        return np.maximum(np.abs(u), np.abs(w)) <= 0.7
    if shape == 1:  # ellipse, semi-axes 1 and 0.5
        return u**2 + (w / 0.5) ** 2 <= 1.0
    if shape == 2:  # the heart (x^2 + y^2 - 1)^3 <= x^2 y^3, shrunk to reach 1
        x, y = 1.3 * u, 1.3 * w + 0.2
        return (x**2 + y**2 - 1.0) ** 3 <= x**2 * y**3
    # an equilateral triangle with circumradius 1, a vertex up: inside all three edges
    normals = np.deg2rad([-90.0, 30.0, 150.0])
    return np.max([u * np.cos(a) + w * np.sin(a) for a in normals], 0) <= 0.5


def draw(size: int, factor_classes: np.ndarray) -> np.ndarray:
    """Images [N, size*size] float32 in {0, 1} of the factor classes [N, 5] (as
    factor_table gives them): a pixel is on when its centre lies inside the shape."""
    if size < 16:
        raise ConfigError(f"data.image_size={size} is too small; it must be at least 16.")
    values = _values(np.asarray(factor_classes))
    radius = RADIUS * size * values[:, 1]  # [N] pixels
    margin = RADIUS * size * _EXTENT + 1.0  # the border pixels stay off
    centre = margin + values[:, 3:5] * (size - 2 * margin)  # [N, 2] (x, y) in pixels
    # Rounded so that quarter and half turns are exact and symmetric shapes repeat exactly.
    cos, sin = np.round(np.cos(values[:, 2]), 12), np.round(np.sin(values[:, 2]), 12)
    pixel = np.arange(size) + 0.5
    images = np.zeros((values.shape[0], size, size), np.float32)
    for start in range(0, values.shape[0], _CHUNK):
        s = slice(start, start + _CHUNK)
        dx = (pixel[None, None, :] - centre[s, 0, None, None]) / radius[s, None, None]
        dy = (centre[s, 1, None, None] - pixel[None, :, None]) / radius[s, None, None]  # up
        c, n = cos[s, None, None], sin[s, None, None]
        u, w = c * dx + n * dy, c * dy - n * dx  # [n, size, size], rotated by -orientation
        kind = values[s, 0].astype(int)
        for shape in np.unique(kind):
            rows = np.flatnonzero(kind == shape)
            images[start + rows] = _inside(int(shape), u[rows], w[rows])
    return images.reshape(values.shape[0], size * size)


def render(size: int = 32, num_examples: int = 0, seed: int = 0) -> FactorImages:
    """The shapes data set: images with the classes and values of their factors."""
    classes, values = factor_table(num_examples, seed)
    return FactorImages(draw(size, classes), classes, values, FACTOR_NAMES)


def _read(path: str) -> dict[str, np.ndarray]:
    """The three arrays of dSprites' file; its pickled 'metadata' is never loaded."""
    expected = f"dSprites' {DSPRITES_FILE} with arrays {', '.join(_DSPRITES_ARRAYS)}"
    if not path or not os.path.isfile(path):
        raise DataError(f"data.path={path!r} is not a file; expected {expected} (no download).")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with loaded as f:
            arrays = {k: f[k] for k in _DSPRITES_ARRAYS if k in f.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise DataError(
            f"{path} could not be read ({type(e).__name__}: {e}); expected {expected}."
        ) from e
    missing = [k for k in _DSPRITES_ARRAYS if k not in arrays]
    if missing:
        raise DataError(f"{path} lacks array(s) {missing}; expected {expected}.")
    return arrays


def load_dsprites(path: str, num_examples: int = 0, seed: int = 0) -> FactorImages:
    """dSprites' images [N, 4096] with their factors, less the constant colour (column 0)."""
    f = _read(path)
    imgs, classes, values = f["imgs"], f["latents_classes"], f["latents_values"]
    n = imgs.shape[0] if imgs.ndim else 0
    if imgs.ndim != 3 or classes.shape != (n, 6) or values.shape != (n, 6) or n == 0:
        raise DataError(
            f"{path}: expected imgs [N, 64, 64] and latents_classes, latents_values [N, 6]; "
            f"got {imgs.shape}, {classes.shape}, {values.shape}."
        )
    keep = _subset(n, num_examples, seed)
    x = imgs[keep].reshape(len(keep), -1)
    if x.min() < 0 or x.max() > 1:
        raise DataError(f"{path}: imgs must hold 0 and 1; found [{x.min()}, {x.max()}].")
    return FactorImages(
        x.astype(np.float32),
        classes[keep, 1:].astype(np.int32),
        values[keep, 1:].astype(np.float32),
        FACTOR_NAMES,
    )


def factor_images(data_config) -> FactorImages:
    """The images and factors that `data.name` ('shapes' or 'dsprites') selects."""
    n, seed = data_config.get("num_examples", 0), data_config.get("seed", 0)
    if data_config.name == "dsprites":
        return load_dsprites(data_config.get("path", ""), n, seed)
    return render(data_config.get("image_size", 32), n, seed)


def _condition(data: FactorImages, data_config) -> np.ndarray | None:
    """y: the class of data.condition_factor, or None for no condition."""
    name = data_config.get("condition_factor", "")
    num_classes = data_config.get("num_classes", 0)
    if not name:
        if num_classes:
            raise ConfigError(
                f"data.num_classes={num_classes} but data.condition_factor is '' (no "
                "condition); set data.num_classes=0, or name a factor to condition on."
            )
        return None
    if name not in data.factor_names:
        raise ConfigError(
            f"data.condition_factor: Unknown factor {name!r}; choose one of "
            f"{', '.join(data.factor_names)}, or '' for no condition."
        )
    y = data.factor_classes[:, data.factor_names.index(name)]
    count = int(y.max()) + 1
    if num_classes not in (0, count):
        raise ConfigError(
            f"data.num_classes={num_classes} but data.condition_factor={name!r} has {count} "
            f"classes; set data.num_classes={count} (or 0 to have it counted)."
        )
    return y


def shapes_with_factors(data_config) -> tuple[Splits, np.ndarray, np.ndarray]:
    """(Splits, train factor classes [Ntrain, F], test factor classes [Ntest, F]): the
    factors of exactly the images each split holds, in the same order."""
    data = factor_images(data_config)
    y = _condition(data, data_config)
    n = data.images.shape[0]
    index = Dataset(np.arange(n), np.arange(n))
    train, test = split(index, data_config.get("test_fraction", 0.2), data_config.get("seed", 0))

    def part(rows):
        x = data.images[rows]
        return without_condition(Dataset(x, None)) if y is None else Dataset(x, y[rows])

    side = int(round(np.sqrt(data.images.shape[1])))
    splits = Splits(part(train.x), part(test.x), (side, side))
    return splits, data.factor_classes[train.x], data.factor_classes[test.x]


SHAPES_KEYS = ("image_size", "test_fraction", "condition_factor")


@DATASETS.register("shapes", config_keys=SHAPES_KEYS)
@DATASETS.register("dsprites", config_keys=("path", "test_fraction", "condition_factor"))
def shapes_splits(data_config) -> Splits:
    return shapes_with_factors(data_config)[0]
