"""The public API: `cvae_jax.__all__` is what exists, and the README's example runs on it alone."""

import re
from pathlib import Path

import cvae_jax

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_all_names_exist_and_are_unique():
    assert len(set(cvae_jax.__all__)) == len(cvae_jax.__all__)
    missing = [name for name in cvae_jax.__all__ if not hasattr(cvae_jax, name)]
    assert not missing, missing
    assert {"train_sweep", "base_config", "SweepResult", "ConfigError"} <= set(cvae_jax.__all__)


def test_readme_example_uses_only_the_public_api_and_runs(capsys):
    [example] = _python_blocks()
    used = set(re.findall(r"cvae_jax\.(\w+)", example))
    assert used and used <= set(cvae_jax.__all__), used - set(cvae_jax.__all__)
    assert re.findall(r"^\s*(?:from|import) (\S+)", example, flags=re.M) == ["cvae_jax"]
    exec(compile(example, "README", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 18  # 3 seeds x 3 betas x 2 learning rates, one row each
