"""Vector quantisation (VQ-VAE, van den Oord et al. 2017): the nearest code against brute force,
the straight-through gradient, the two loss terms and where their gradients go, an EMA step
worked out by hand, and the codebook-usage diagnostics."""

import itertools
import os
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax.config import validate
from cvae_jax.core import objectives
from cvae_jax.errors import ConfigError, ContractError
from cvae_jax.models.code_prior import AutoregressiveCodePrior, CausalCodeNet
from cvae_jax.models.vq import (
    EMAState,
    VectorQuantizer,
    dead_codes,
    ema_init,
    ema_update,
    perplexity,
    quantize,
    restart_dead_codes,
    straight_through,
    vq_losses,
)
from cvae_jax.training import runner

K, D = 7, 3
RNG = np.random.default_rng(0)
Z_E = RNG.standard_normal((4, 5, D)).astype(np.float32)  # a [B, n, D] grid of encoder outputs
CODEBOOK = RNG.standard_normal((K, D)).astype(np.float32)
BETA = 0.25


def _nearest(z_e, codebook):  # brute force: every difference, in numpy
    return np.argmin(((z_e[..., None, :] - codebook) ** 2).sum(-1), -1)


def test_quantize_picks_the_nearest_code():
    z_q, indices = jax.jit(quantize)(Z_E, CODEBOOK)
    brute = _nearest(Z_E, CODEBOOK)  # [4, 5]
    np.testing.assert_array_equal(indices, brute)
    np.testing.assert_array_equal(z_q, CODEBOOK[brute])
    assert indices.shape == (4, 5) and indices.dtype == jnp.int32
    with pytest.raises(ContractError, match="must match"):
        quantize(Z_E, CODEBOOK[:, :2])


def _reconstruction(z):  # any smooth function of the latent, standing in for -log p(x|z)
    return jnp.sum(jnp.sin(z) * jnp.arange(1.0, D + 1))


@jax.jit
def _gradients(z_e, codebook):
    """Gradients of each term with respect to (z_e, codebook), and the terms themselves."""

    def terms(z_e, codebook):
        z_q, _ = quantize(z_e, codebook)
        losses = vq_losses(z_e, z_q, BETA)
        recon = _reconstruction(straight_through(z_e, z_q))
        return recon, jnp.sum(losses.codebook), jnp.sum(losses.commitment)

    grads = [jax.grad(lambda *a, i=i: terms(*a)[i], (0, 1))(z_e, codebook) for i in range(3)]
    z_q, _ = quantize(z_e, codebook)
    at_z_q = jax.grad(_reconstruction)(z_q)
    return grads, at_z_q, vq_losses(z_e, z_q, BETA), straight_through(z_e, z_q)


def test_straight_through_carries_the_decoder_gradient_to_the_encoder():
    (recon_grads, _, _), at_z_q, _, z_st = _gradients(Z_E, CODEBOOK)
    np.testing.assert_allclose(z_st, CODEBOOK[_nearest(Z_E, CODEBOOK)], atol=1e-6)  # z_q's value
    np.testing.assert_allclose(recon_grads[0], at_z_q, rtol=1e-6)  # d/dz_e = f'(z_q)
    assert np.all(np.asarray(recon_grads[1]) == 0.0)  # the decoder does not move the codes


def test_loss_terms_and_where_their_gradients_go():
    (_, codebook_grads, commitment_grads), _, losses, _ = _gradients(Z_E, CODEBOOK)
    indices = _nearest(Z_E, CODEBOOK).reshape(-1)
    e = CODEBOOK[indices].reshape(Z_E.shape)  # [4, 5, D]
    squared = ((Z_E - e) ** 2).sum(-1)  # [4, 5]: summed over D, one per vector
    np.testing.assert_allclose(losses.codebook, squared, rtol=1e-5)
    np.testing.assert_allclose(losses.commitment, BETA * squared, rtol=1e-5)
    # ||sg[z_e] - e||^2 moves the codes only: 2 (e_k - z_e) summed over the vectors at k
    assert np.all(np.asarray(codebook_grads[0]) == 0.0)
    expected = np.zeros((K, D), np.float32)
    np.add.at(expected, indices, 2 * (e - Z_E).reshape(-1, D))
    np.testing.assert_allclose(codebook_grads[1], expected, rtol=1e-5, atol=1e-6)
    # beta ||z_e - sg[e]||^2 moves the encoder only
    assert np.all(np.asarray(commitment_grads[1]) == 0.0)
    np.testing.assert_allclose(commitment_grads[0], 2 * BETA * (Z_E - e), rtol=1e-5, atol=1e-6)


def test_ema_step_by_hand():
    # Codes (0, 0) and (2, 2), counts N = (1, 1) (`ema_init`); vectors (1, 0) and (0, 1) go to
    # code 0, (3, 3) to code 1: n = (2, 1), sums (1, 1) and (3, 3). With decay 0.5:
    #   N = 0.5 (1, 1) + 0.5 (2, 1) = (1.5, 1),  m_0 = 0.5 (0, 0) + 0.5 (1, 1) = (0.5, 0.5),
    #   m_1 = 0.5 (2, 2) + 0.5 (3, 3) = (2.5, 2.5).
    # epsilon = 0: e = m / N = (1/3, 1/3), (2.5, 2.5). epsilon = 0.1: n = 2.5, the smoothed
    # counts (N + 0.1) / 2.7 * 2.5 = 40/27, 55/54, so e_0 = 0.5 * 27/40 = 27/80 = 0.3375 and
    # e_1 = 2.5 * 54/55 = 27/11.
    codebook = np.array([[0.0, 0.0], [2.0, 2.0]], np.float32)
    z_e = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]], np.float32)
    indices = _nearest(z_e, codebook)
    np.testing.assert_array_equal(indices, [0, 0, 1])
    update = jax.jit(ema_update)
    start = ema_init(codebook)
    np.testing.assert_array_equal(start.cluster_size, [1.0, 1.0])  # so m / N is the codebook
    state, new = update(start, z_e, indices, 0.5, 0.0)
    np.testing.assert_allclose(state.cluster_size, [1.5, 1.0])
    np.testing.assert_allclose(state.embed_sum, [[0.5, 0.5], [2.5, 2.5]])
    np.testing.assert_allclose(new, [[1 / 3, 1 / 3], [2.5, 2.5]], rtol=1e-6)
    state, new = update(start, z_e, indices, 0.5, 0.1)
    np.testing.assert_allclose(state.cluster_size, [1.5, 1.0])  # the state is unsmoothed
    np.testing.assert_allclose(new, [[27 / 80] * 2, [27 / 11] * 2], rtol=1e-6)
    # A grid of vectors counts as one batch; a code nobody picks keeps its direction.
    state = EMAState(np.ones(3, np.float32), np.array([[0, 0], [2, 2], [5, 5]], np.float32))
    grid = np.stack([z_e, z_e])  # [2, 3, 2]
    state, new = update(state, grid, np.stack([indices] * 2), 0.5, 0.0)
    np.testing.assert_allclose(state.cluster_size, [2.5, 1.5, 0.5])
    np.testing.assert_allclose(new[2], [5.0, 5.0], rtol=1e-6)


def test_dead_codes_restart_on_distinct_batch_vectors_and_live_codes_stay_bitwise():
    # N = (5, 0.5, 2, 0.1) against threshold 1: codes 1 and 3 are dead.
    state = EMAState(np.array([5.0, 0.5, 2.0, 0.1], np.float32), 3 * CODEBOOK[:4])
    codebook = CODEBOOK[:4]
    restart = jax.jit(restart_dead_codes)
    new_state, new = jax.tree.map(np.asarray, restart(state, codebook, Z_E, jax.random.key(0), 1.0))
    live, dead = [0, 2], [1, 3]
    np.testing.assert_array_equal(new[live], codebook[live])
    np.testing.assert_array_equal(new_state.embed_sum[live], state.embed_sum[live])
    np.testing.assert_array_equal(new_state.cluster_size, [5.0, 1.0, 2.0, 1.0])
    batch = Z_E.reshape(-1, D)
    rows = [int(np.flatnonzero((batch == new[k]).all(-1))[0]) for k in dead]  # batch vectors
    assert rows[0] != rows[1]  # drawn without replacement from the 20 vectors
    np.testing.assert_array_equal(new_state.embed_sum[dead], new[dead])  # m = N e, N = 1
    # Threshold 0 restarts nothing; another key draws other vectors.
    same_state, same = restart(state, codebook, Z_E, jax.random.key(0), 0.0)
    np.testing.assert_array_equal(same, codebook)
    np.testing.assert_array_equal(same_state.cluster_size, state.cluster_size)
    _, other = restart(state, codebook, Z_E, jax.random.key(1), 1.0)
    assert not np.array_equal(np.asarray(other)[dead], new[dead])


def test_usage_diagnostics():
    usage = jax.jit(lambda i, k: (perplexity(i, k), dead_codes(i, k)), static_argnums=1)
    uniform = np.arange(3 * K) % K
    perplexity_, dead = usage(uniform, K)
    assert float(perplexity_) == pytest.approx(K, rel=1e-6) and int(dead) == 0
    perplexity_, dead = usage(np.full(3 * K, 3), K)  # one code
    assert float(perplexity_) == pytest.approx(1.0, abs=1e-6) and int(dead) == K - 1
    perplexity_, dead = usage(np.array([0, 0, 1, 1]), 4)  # two of four codes, equally
    assert float(perplexity_) == pytest.approx(2.0, rel=1e-6) and int(dead) == 2


def test_vector_quantizer_module():
    vq = VectorQuantizer(K, D)

    @jax.jit
    def run(key, z_e, commitment):  # commitment traced: a sweep over it compiles once
        variables = vq.init(key, z_e)
        codebook = variables["params"]["codebook"]
        z_q, indices = quantize(z_e, codebook)
        return codebook, vq.apply(variables, z_e, commitment), indices, vq_losses(z_e, z_q, 0.5)

    codebook, out, indices, losses = run(jax.random.key(0), Z_E, 0.5)
    assert codebook.shape == (K, D) and np.abs(codebook).max() <= np.sqrt(3 / D)
    np.testing.assert_array_equal(out.indices, indices)
    np.testing.assert_allclose(out.z_q, np.asarray(codebook)[np.asarray(indices)], atol=1e-6)
    np.testing.assert_allclose(out.codebook_loss, losses.codebook, rtol=1e-6)
    np.testing.assert_allclose(out.commitment_loss, losses.commitment, rtol=1e-6)
    assert out.codebook_loss.shape == (4, 5)


# The conditional VQ-VAE model kind (`models/vq_cvae.py`) and its code priors.


def _vq_config(tiny_config, **model_keys):
    c = tiny_config
    c.model.kind, c.model.latent_dim = "vq", 2
    c.model.codebook_size, c.model.code_dim = 4, 2
    for key, value in model_keys.items():
        c.model[key] = value
    c.sweep.betas, c.sweep.num_seeds = (1.0,), 1
    c.sweep.grid.commitment = (0.1, 1.0)
    c.training.num_steps = 40
    return c


def test_vq_with_an_autoregressive_decoder_sweeps_like_lone_members_and_resumes_bitwise(
    tiny_config, tmp_path
):
    """Both new models in one sweep (CI time): VQ with the EMA codebook and its restarts,
    decoding 4x4 binary images pixel by pixel; a commitment grid point equals the member
    trained alone."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 128)
    x = (rng.random((128, 4, 4)) < np.where(y[:, None, None], 0.7, 0.2)).astype(np.float32)
    np.savez(tmp_path / "binary.npz", x=x, y=y)
    config = _vq_config(
        tiny_config, codebook_update="ema", codebook_restart=0.5, decoder="autoregressive",
        code_prior="uniform",
    )  # fmt: skip
    with config.unlocked():
        config.model.update(decoder_window=1, decoder_layers=1, decoder_channels=4)
        config.model.likelihood = "bernoulli"
        config.data.update(name="npz", path=str(tmp_path / "binary.npz"), test_fraction=0.0)
    ckpt = str(tmp_path / "ckpt")
    setup, whole = runner.train_sweep(config, checkpoint_dir=ckpt)
    first = jax.tree.leaves(whole.member_params(0, 0)["vq_ema"])
    initial = runner.init_state(
        setup.model, setup.optimizer, runner.member_keys(int(whole.seeds[0]))[0], setup.data
    )
    moved = jax.tree.leaves(initial.params["vq_ema"])
    assert any(not np.allclose(a, b) for a, b in zip(first, moved, strict=True))  # EMA moved it
    alone = runner.train_single(config, int(whole.seeds[0]), {"commitment": 1.0})
    for a, b in zip(jax.tree.leaves(whole.member_params(0, 1)), jax.tree.leaves(alone.params),
                    strict=True):  # fmt: skip
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    shutil.rmtree(os.path.join(ckpt, "40"))  # as if killed after the checkpoint of step 20
    _, resumed = runner.train_sweep(config, checkpoint_dir=ckpt)
    for a, b in zip(jax.tree.leaves(whole.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_train_step_moves_the_ema_codebook_by_the_papers_update_and_adam_leaves_it(tiny_config):
    config = _vq_config(tiny_config, codebook_update="ema", code_prior="uniform")
    setup = runner.build_setup(config)
    state = runner.init_state(setup.model, setup.optimizer, jax.random.key(0), setup.data)
    batch = type(setup.data)(jnp.asarray(setup.data.x[:16]), jnp.asarray(setup.data.y[:16]))
    step = runner.make_train_step(setup.model, setup.optimizer)
    new, metrics = jax.jit(step)(state, batch, jax.random.key(1), objectives.DEFAULT_HYPER)
    variables = state.params
    c = setup.model.condition(batch.y)
    z_e = setup.model.apply(variables, batch.x, c, method=lambda m, x, c: m.encoder(x, c))
    ema = variables["vq_ema"]["codebook"]
    _, indices = quantize(z_e, ema["codebook"])
    (size, total), codebook = ema_update(
        EMAState(ema["cluster_size"], ema["embed_sum"]), z_e, indices, 0.99
    )  # fmt: skip
    moved = new.params["vq_ema"]["codebook"]
    np.testing.assert_allclose(moved["codebook"], codebook, rtol=1e-6)
    np.testing.assert_allclose(moved["cluster_size"], size, rtol=1e-6)
    np.testing.assert_allclose(moved["embed_sum"], total, rtol=1e-6)
    # With the uniform code prior the rate is the constant P log K (van den Oord et al. 3.1).
    assert float(metrics["rate"]) == pytest.approx(2 * np.log(4), rel=1e-6)
    # With every code below the restart threshold, each becomes one of the batch's z_e.
    with config.unlocked():
        config.model.codebook_restart = 1e6
    setup = runner.build_setup(config)
    step = runner.make_train_step(setup.model, setup.optimizer)
    new, _ = jax.jit(step)(state, batch, jax.random.key(1), objectives.DEFAULT_HYPER)
    restarted = np.asarray(new.params["vq_ema"]["codebook"]["codebook"])  # [K, D]
    vectors = np.asarray(z_e).reshape(-1, z_e.shape[-1])
    assert all((vectors == code).all(-1).any() for code in restarted)


def test_the_autoregressive_code_prior_is_causal_and_normalised():
    num, size = 3, 4
    prior = AutoregressiveCodePrior(CausalCodeNet(num, size, hidden=8))
    c = jnp.eye(2)
    variables = prior.init(jax.random.key(0), c)
    p = prior.apply(variables, c)
    codes = jnp.asarray(list(itertools.product(range(size), repeat=num)), jnp.int32)
    log_p = jax.vmap(lambda k: p.log_prob(jnp.broadcast_to(k, (2, num))))(codes)  # [K^P, 2]
    np.testing.assert_allclose(jnp.exp(jax.nn.logsumexp(log_p, 0)), 1.0, rtol=1e-5)
    net = CausalCodeNet(num, size, hidden=8)
    v = net.init(jax.random.key(1), codes[5:6], c[:1])
    logits = net.apply(v, codes[5:6], c[:1])[0]  # [P, K]
    # reads[i, j]: does logit i move when code j changes?
    changed = [net.apply(v, codes[5:6].at[0, j].add(1) % size, c[:1])[0] for j in range(num)]
    reads = np.stack([np.any(np.asarray(d != logits), -1) for d in changed], 1)
    np.testing.assert_array_equal(reads, np.tril(np.ones((num, num), bool), -1))
    draws = p.sample(seed=jax.random.key(2), sample_shape=(5,))
    assert draws.shape == (5, 2, num) and set(np.unique(draws)) <= set(range(size))


@pytest.mark.parametrize(
    "keys,message",
    [
        ({"codebook_size": 1}, r"model.codebook_size=1 is not allowed; it must be an integer >= 2"),
        ({"prior": "mog"}, r"model.kind='vq' has a point-mass posterior on its codes"),
        (
            {"codebook_update": "gradient", "codebook_restart": 1.0},
            r"model.codebook_restart=1.0 restarts codes by their moving-average usage, which "
            r"only model.codebook_update='ema' keeps",
        ),
        ({"codebook_restart": -1.0}, r"model.codebook_restart=-1.0 is not allowed"),
        (
            {"code_prior": "pixelcnn"},
            r"model.code_prior: Unknown code prior 'pixelcnn'; choose one of uniform",
        ),
    ],
)
def test_bad_vq_settings_are_one_line_each(tiny_config, keys, message):
    config = _vq_config(tiny_config, **keys)
    with pytest.raises(ConfigError, match=message):
        validate(config)
        runner.build_setup(config)
