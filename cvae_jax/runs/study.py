"""One way to run a study: its variants, one compiled sweep each, under one workdir layout.

A variant is a setting that changes the parameter tree (the prior, which quadrants are
observed), so it cannot be a vmapped axis: each variant trains its own grid x seed sweep,
checkpointed under `<workdir>/checkpoints/<variant>/`. A study declares its variants and what
it does with the trained sweeps (evaluation, figures); the launchers, `workdir.prepare`
(new / resume / done) and the checkpoints work the same for every study.
"""

import dataclasses
import math
import os
from collections.abc import Callable, Iterator
from functools import partial

import ml_collections
from absl import logging

from cvae_jax import config as config_lib
from cvae_jax.errors import ConfigError
from cvae_jax.runs import tensorboard
from cvae_jax.runs import workdir as workdir_lib
from cvae_jax.training import runner


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str  # the checkpoint subdirectory and the rows' `variant` column
    value: object  # what the study varies: a prior name, a number of observed quadrants
    config: ml_collections.ConfigDict  # a resolved copy with the variant applied


@dataclasses.dataclass(frozen=True)
class Study:
    """What a launcher needs to run a study.

    variants(config) -> [Variant]: the sweeps it trains.
    run(config, workdir) -> dict: trains them (through `train_variants`), evaluates, writes.
    check(config): the study's own checks beyond `config.validate` (raises ConfigError).
    report(out) -> [str]: lines logged after the run.
    """

    name: str
    variants: Callable[[ml_collections.ConfigDict], list[Variant]]
    run: Callable[[ml_collections.ConfigDict, str], dict]
    check: Callable[[ml_collections.ConfigDict], None] = lambda config: None
    report: Callable[[dict], list[str]] = lambda out: []

    def validate(self, config) -> None:
        """The config and every variant's config (an unknown prior fails before training)."""
        config_lib.validate(config)
        self.check(config)
        for v in self.variants(config):
            config_lib.validate(v.config)


def check_variants(config, known) -> None:
    """ConfigError unless `config.variants` names one or more of `known`."""
    unknown = [name for name in config.variants if name not in known]
    if unknown or not config.variants:
        raise ConfigError(
            f"variants={tuple(config.variants)}: unknown {unknown or 'none given'}; choose "
            f"from {', '.join(known)}."
        )


def variant(config, name: str, value=None) -> Variant:
    """A variant holding a resolved copy of `config` (which is left as it was)."""
    return Variant(name, name if value is None else value, config.copy_and_resolve_references())


def prior_variants(config) -> list[Variant]:
    """One variant per prior named in `config.variants` (Beckham's two cVAE families)."""
    variants = [variant(config, prior) for prior in config.variants]
    for v in variants:
        v.config.model.prior = v.name
    return variants


def _num_points(config) -> int:
    return math.prod(len(values) for values in config_lib.grid(config).values())


def train_variants(
    variants: list[Variant],
    workdir: str,
    data_for: Callable[[Variant], object] | None = None,
    measure_for: Callable[[Variant, runner.Setup], object] | None = None,
) -> Iterator[tuple[Variant, runner.Setup, runner.SweepResult]]:
    """Trains each variant's sweep (resuming from its checkpoints) and yields it in turn.

    data_for(variant) gives the variant's training Dataset; None loads `config.data`.
    measure_for(variant, setup) gives a chunk callback measuring the sweep during training
    (`runner.train_sweep`'s `measure_for`), or None.
    """
    for v in variants:
        c = v.config
        logging.info(
            "variant %s: %d grid points x %d seeds", v.name, _num_points(c), c.sweep.num_seeds
        )
        data = data_for(v) if data_for is not None else None
        writer = tensorboard.writer_for(c, os.path.join(workdir, "tensorboard", v.name))
        try:
            setup, sweep = runner.train_sweep(
                c, data, workdir_lib.checkpoint_dir(workdir, v.name), on_chunk=writer,
                measure_for=measure_for and partial(measure_for, v),
            )  # fmt: skip
        finally:
            if writer is not None:
                writer.close()
        yield v, setup, sweep
