"""XLA flags that must be set before jax is imported (no jax import here)."""

import os


def apply_cpu_devices_flag(argv) -> None:
    """--cpu_devices=N makes N XLA host devices; 0 (or absent): one per core."""
    count = 0
    for arg in argv:
        name, _, value = arg.partition("=")
        if name == "--cpu_devices":
            count = int(value)
    count = count or len(os.sched_getaffinity(0))
    if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
        flag = f" --xla_force_host_platform_device_count={count}"
        os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + flag
