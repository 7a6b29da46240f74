"""Disentanglement metrics on codes whose answer is known: the factors themselves (at the
maximum), a rotation of them (lower MIG and DCI), noise (at chance), a repeated factor (no
MIG gap); same key, same number; mismatched shapes fail with one line."""

import itertools

import jax
import numpy as np
import pytest

from cvae_jax.evaluation import disentanglement as metrics

SIZES = (3, 5, 6, 8, 10)  # classes per factor; F = 5, so beta-VAE and FactorVAE chance = 0.2
N = 2000
METRICS = (
    metrics.beta_vae_score,
    metrics.factor_vae_score,
    metrics.mig,
    metrics.dci_disentanglement,
)


@pytest.fixture(scope="module")
def grid():
    """(factor classes [N, F], codes by name): a random subset of the 7,200-point product."""
    rng = np.random.default_rng(0)
    full = np.array(list(itertools.product(*map(range, SIZES))), np.int32)
    factors = full[rng.choice(len(full), N, replace=False)]
    standardised = (factors - factors.mean(0)) / factors.std(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(len(SIZES), len(SIZES))))
    codes = {
        "true": standardised,
        "rotated": standardised @ rotation,
        "noise": rng.normal(size=(N, 10)),
        "repeated": np.concatenate([standardised, standardised[:, :1]], 1),
    }
    return factors, codes


@pytest.fixture(scope="module")
def scores(grid):
    factors, codes = grid
    key = jax.random.key(0)
    return {
        name: {fn.__name__: fn(key, codes[name], factors) for fn in METRICS}
        for name in ("true", "rotated", "noise")
    }


def test_true_factors_score_at_the_maximum(scores):
    s = scores["true"]
    assert s["beta_vae_score"] > 0.95, s
    assert s["factor_vae_score"] > 0.95, s
    assert s["mig"] > 0.9, s
    assert s["dci_disentanglement"] > 0.9, s


def test_a_rotation_of_the_factors_scores_lower_on_mig_and_dci(scores):
    true, rotated = scores["true"], scores["rotated"]
    for name in ("mig", "dci_disentanglement"):
        assert rotated[name] < 0.5 < true[name], (name, rotated[name], true[name])


def test_noise_scores_at_chance(scores):
    # Held-out accuracies over 1,000 points whose labels are independent of the classifier:
    # mean exactly 1/F = 0.2, standard deviation sqrt(0.2 * 0.8 / 1000) = 0.013; 0.05 is ~4 sd.
    s = scores["noise"]
    assert abs(s["beta_vae_score"] - 0.2) < 0.05, s
    assert abs(s["factor_vae_score"] - 0.2) < 0.05, s
    # MIG and DCI's chance is 0 plus a finite-sample bias: the plug-in MI's bias is about
    # (bins - 1)(C - 1) / 2N nats, < 0.02 of H after normalising, and the gap between two
    # equally biased dimensions is smaller still; forest importances on noise are near uniform.
    assert s["mig"] < 0.02, s
    assert s["dci_disentanglement"] < 0.05, s


def test_mig_gives_no_gap_to_a_factor_the_code_repeats(grid):
    factors, codes = grid
    gaps = metrics.mig_per_factor(jax.random.key(0), codes["repeated"], factors)
    assert gaps[0] < 0.01, gaps
    assert np.all(gaps[1:] > 0.9), gaps
    assert metrics.mig(jax.random.key(0), codes["repeated"], factors) < 0.85


def test_dci_completeness_penalises_a_factor_spread_over_two_codes(grid):
    factors, codes = grid
    small = dict(num_train=800, num_test=400)
    repeated = metrics.dci(jax.random.key(0), codes["repeated"], factors, **small)
    true = metrics.dci(jax.random.key(0), codes["true"], factors, **small)
    assert repeated["completeness"] < true["completeness"] - 0.05, (repeated, true)
    assert true["informativeness_test"] > 0.95, true


@pytest.mark.parametrize("fn", METRICS, ids=lambda fn: fn.__name__)
def test_same_key_same_number(grid, fn):
    factors, codes = grid
    small = {"num_train": 300, "num_test": 150} if fn is metrics.dci_disentanglement else {}
    if fn in (metrics.beta_vae_score, metrics.factor_vae_score):
        small = {"num_train": 300, "num_eval": 300}
    if fn is metrics.mig:
        small = {"num_points": 1000}  # a random subset: the key matters
    z = codes["rotated"]
    first = fn(jax.random.key(3), z, factors, **small)
    assert fn(jax.random.key(3), z, factors, **small) == first
    assert fn(jax.random.key(4), z, factors, **small) != first


def test_collapsed_code_scores_zero_on_factor_vae(grid):
    factors, _ = grid
    codes = np.full((N, 3), 0.5) + 1e-3 * np.random.default_rng(1).normal(size=(N, 3))
    assert metrics.factor_vae_score(jax.random.key(0), codes, factors) == 0.0


@pytest.mark.parametrize("fn", METRICS, ids=lambda fn: fn.__name__)
def test_shape_mismatch_raises_one_line(grid, fn):
    factors, codes = grid
    with pytest.raises(ValueError, match=r"same N examples.*\(1999, 5\).*\(2000, 5\)") as e:
        fn(jax.random.key(0), codes["true"][:-1], factors)
    assert "\n" not in str(e.value)


def test_constant_factor_and_float_factors_are_refused(grid):
    factors, codes = grid
    constant = np.concatenate([factors, np.zeros((N, 1), np.int32)], 1)
    with pytest.raises(ValueError, match=r"factor\(s\) \[5\] take a single class"):
        metrics.mig(jax.random.key(0), codes["true"], constant)
    with pytest.raises(ValueError, match="integer classes"):
        metrics.mig(jax.random.key(0), codes["true"], factors.astype(np.float32))
