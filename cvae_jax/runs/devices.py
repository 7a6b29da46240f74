"""The devices a launcher trains on: on CPU, one XLA device per core unless told otherwise.

XLA's CPU backend runs a sweep's small kernels on about one core per device, so one
device per core lets the sweep shard its members over every core (2.1-2.4x on 2 cores,
docs/performance.md). The number of devices is part of a run's identity: results are a
function of (config, seed, device layout), the layout is logged and stored with every
checkpoint, and a resume on the same layout is bitwise identical to an uninterrupted run.
"""

import os

import jax
from absl import logging

from cvae_jax.errors import ConfigError

_USER_SETTINGS = ("xla_force_host_platform_device_count", "JAX_NUM_CPU_DEVICES")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's core count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def user_setting() -> str | None:
    """The environment setting that already fixes the CPU device count, if any."""
    if _USER_SETTINGS[0] in os.environ.get("XLA_FLAGS", ""):
        return "XLA_FLAGS"
    return _USER_SETTINGS[1] if os.environ.get(_USER_SETTINGS[1]) else None


def use_cpu_devices(count: int = 0) -> None:
    """Splits the host into `count` XLA CPU devices (0: one per core) before JAX starts.

    Leaves the count alone when XLA_FLAGS or JAX_NUM_CPU_DEVICES already set it, and when
    JAX has already started (then it logs the devices it has). No effect on GPU or TPU runs,
    whose devices are the accelerators.
    """
    if count < 0:
        raise ConfigError(f"--cpu_devices={count}; use 0 (one per core) or a positive count.")
    if user_setting() and not count:
        return
    try:
        jax.config.update("jax_num_cpu_devices", count or available_cores())
    except RuntimeError:  # JAX already ran something: its devices are fixed now
        logging.warning("JAX has already started; keeping its %d devices.", jax.device_count())


def describe() -> str:
    """'2 x cpu devices, 1 process(es) (2 cores available; the count comes from ...)'."""
    devices = jax.devices()
    text = f"{len(devices)} x {devices[0].platform} devices, {jax.process_count()} process(es)"
    if devices[0].platform == "cpu":
        source = user_setting() or "--cpu_devices"
        text += f" ({available_cores()} cores available; the count comes from {source})"
    return text
