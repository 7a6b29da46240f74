"""The data sets by name: `data.name` selects one loader, `data_config -> Splits`.

A new data set is one `@DATASETS.register(name, config_keys=...)` where its loader is
defined (and an import in `data/__init__.py`); config validation reads this table.
"""

from absl import logging

from cvae_jax.registry import Registry

DATASETS = Registry("data.name")


def load_splits(data_config):
    """Training and test parts (test None when the data set has no held-out part)."""
    return DATASETS.get(data_config.name).build(data_config)


def load_dataset(data_config):
    """The training part of the data set named by `data_config.name` (a warning if the data
    set has no test part, so that nothing is held out for evaluation)."""
    splits = load_splits(data_config)
    reads_fraction = "test_fraction" in DATASETS.get(data_config.name).config_keys
    if splits.test is None and reads_fraction:  # synthetic sets draw fresh evaluation data
        logging.warning(
            "data.name=%s has no test set: training on all %d examples, none held out for "
            "evaluation. Set data.test_fraction in (0, 1) to hold some out.",
            data_config.name, splits.train.x.shape[0],
        )  # fmt: skip
    return splits.train


def describe(data_config, splits) -> dict:
    """What a study's summary.json says about its data: which files, how many images."""
    return {
        "name": data_config.name,
        "path": data_config.path,
        "image_shape": list(splits.image_shape) if splits.image_shape else None,
        "num_train": int(splits.train.x.shape[0]),
        "num_test": int(splits.test.x.shape[0]) if splits.test is not None else 0,
    }
