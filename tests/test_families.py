"""The latent families beyond one diagonal Gaussian: mixture and VampPrior priors, the IAF
posterior and flow prior, hierarchies and the IAF objective, against closed forms; and each
trained in the same compiled sweep (a grid point equals the member trained alone, one trace,
bitwise resume)."""

import os
import shutil

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cvae_jax import models
from cvae_jax.config import base_config
from cvae_jax.core import distributions as dist
from cvae_jax.core import latents, objectives
from cvae_jax.data import Dataset
from cvae_jax.evaluation import members
from cvae_jax.training import runner

X = jax.random.normal(jax.random.key(0), (6, 3))
Y = jnp.array([0, 1, 1, 0, 1, 0])


def _model(kind="mlp", **model_keys):
    config = base_config()
    config.model.kind = kind
    config.model.hidden = (8,)
    for key, value in model_keys.items():
        setattr(config.model, key, value)
    model = models.build_model(config, Dataset(np.asarray(X), np.asarray(Y)))
    return model, model.init(jax.random.key(1), X, Y, jax.random.key(2))


def test_mog_with_one_standard_component_has_the_closed_form_rate_in_expectation():
    model, params = _model(prior="mog", prior_components=1)
    prior = params["params"]["prior"]
    params["params"]["prior"] = jax.tree.map(jnp.zeros_like, prior)  # N(0, I), weight 1
    keys = jax.random.split(jax.random.key(3), 4000)
    rates = jax.jit(jax.vmap(lambda k: model.apply(params, X, Y, k)["rate_groups"][:, 0]))(keys)
    q = model.apply(params, X, Y, method=model.encode)
    closed_form = dist.gaussian_kl(q.loc, q.log_var)  # [B]
    standard_error = np.std(rates, axis=0) / np.sqrt(len(keys))
    assert np.all(np.abs(np.mean(rates, axis=0) - closed_form) < 4 * standard_error)

    def mean_rate(prior_params):
        p = {"params": {**params["params"], "prior": prior_params}}
        return jnp.mean(model.apply(p, X, Y, jax.random.key(4))["rate_groups"])

    grads = jax.grad(mean_rate)(params["params"]["prior"])
    assert np.abs(grads["means"]).sum() > 0 and np.abs(grads["log_vars"]).sum() > 0


def test_vamp_log_prob_is_the_mean_of_its_pseudo_inputs_posteriors_of_that_label():
    model, params = _model(prior="vamp", prior_components=5)
    p = model.apply(params, Y, method=model.prior_distribution)
    z = jax.random.normal(jax.random.key(5), (6, 2))
    u = params["params"]["prior"]["pseudo_inputs"]  # [K, D]
    u_labels = jnp.arange(5) % 2  # pseudo-input k carries label k mod C
    q_u = model.apply(params, u, u_labels, method=model.encode)
    log_q = dist.gaussian_log_prob(z[:, None], q_u.loc[None], q_u.log_var[None])  # [B, K]
    own = u_labels[None, :] == Y[:, None]
    expected = jax.nn.logsumexp(jnp.where(own, log_q, -jnp.inf), -1) - jnp.log(own.sum(-1))
    np.testing.assert_allclose(p.log_prob(z), expected, rtol=1e-5, atol=1e-5)


def test_tomczak_pseudo_inputs_are_images_in_the_unit_interval():
    """Tomczak & Welling's pseudo-inputs start nearly black and pass through a hardtanh: a
    parameter outside [0, 1] gives the prior of the clipped image and gets no gradient."""
    model, params = _model(prior="vamp", prior_components=5, pseudo_inputs="tomczak")
    u = params["params"]["prior"]["pseudo_inputs"]  # [K, D]
    assert abs(float(jnp.mean(u)) - 0.05) < 0.01
    z = jax.random.normal(jax.random.key(5), (6, 2))

    def log_prior(pseudo_inputs):
        p = {"params": {**params["params"], "prior": {"pseudo_inputs": pseudo_inputs}}}
        return model.apply(p, Y, method=model.prior_distribution).log_prob(z)  # [B]

    outside, clipped = u.at[0].set(-3.0).at[1].set(4.0), u.at[0].set(0.0).at[1].set(1.0)
    np.testing.assert_array_equal(log_prior(outside), log_prior(clipped))
    grads = jax.grad(lambda w: jnp.sum(log_prior(w)))(outside)
    assert np.all(grads[:2] == 0) and np.all(np.abs(grads[2:]).sum(-1) > 0)
    _, grey = _model(prior="vamp", prior_components=5)  # the default starts grey, moves freely
    assert abs(float(jnp.mean(grey["params"]["prior"]["pseudo_inputs"])) - 0.5) < 0.01


def test_iaf_at_zero_heads_is_the_encoders_gaussian():
    model, params = _model(posterior="iaf", flow_steps=2, flow_hidden=(8,))
    q = model.apply(params, X, Y, method=model.encode)
    q0 = model.apply(params, X, Y, method=lambda m, x, y: m.encoder(x, m.condition(y))[0])
    z = jax.random.normal(jax.random.key(6), (6, 2))
    np.testing.assert_array_equal(q.log_prob(z), q0.log_prob(z))
    key = jax.random.key(7)
    np.testing.assert_array_equal(q.sample(seed=key), q0.sample(seed=key))


def test_flow_prior_at_zero_heads_is_the_standard_normal_and_conditions_on_c():
    model, params = _model(prior="flow", flow_steps=2, flow_hidden=(8,))
    z = jax.random.normal(jax.random.key(8), (6, 2))
    p = model.apply(params, Y, method=model.prior_distribution)
    np.testing.assert_allclose(p.log_prob(z), dist.gaussian_log_prob(z, 0.0, 0.0), rtol=1e-6)
    # with the heads moved off zero, the density depends on the label through the context
    moved = jax.tree.map(lambda a: a + 0.3, params)
    p = model.apply(moved, Y, method=model.prior_distribution)
    p_swapped = model.apply(moved, 1 - Y, method=model.prior_distribution)
    assert not np.allclose(p.log_prob(z), p_swapped.log_prob(z))
    # its sampler inverts its density's map: log p of its own samples is finite and matches
    s, log_p = p.sample_and_log_prob(seed=jax.random.key(9))
    np.testing.assert_allclose(p.log_prob(s), log_p, rtol=1e-4, atol=1e-4)


def test_iwae_objective_with_one_sample_is_the_elbo_and_bounds_it_with_more():
    log_lik = jax.random.normal(jax.random.key(10), (5, 7)) - 3.0
    log_ratio = jax.random.normal(jax.random.key(11), (5, 7))
    one = {"log_likelihood_samples": log_lik[:1], "log_ratio_samples": log_ratio[:1]}
    np.testing.assert_array_equal(
        objectives.iwae_loss(one), -jnp.mean(log_lik[0] + log_ratio[0])
    )  # k = 1: -ELBO exactly
    many = {"log_likelihood_samples": log_lik, "log_ratio_samples": log_ratio}
    assert objectives.iwae_loss(many) < -jnp.mean(log_lik + log_ratio)  # Jensen


def _linear_gaussian_two_layers(n=4000, seed=0):
    """z_2 ~ N(0, 1), z_1 = a z_2 + N(0, s1^2), x = W z_1 + N(0, s2^2 I): x ~ N(0, Sigma)."""
    a, s1, s2 = 1.5, 0.5, 0.3
    w = np.array([[1.0], [-0.5], [0.8]])
    rng = np.random.default_rng(seed)
    z2 = rng.normal(size=(n, 1))
    z1 = a * z2 + s1 * rng.normal(size=(n, 1))
    x = z1 @ w.T + s2 * rng.normal(size=(n, 3))
    sigma = (a**2 + s1**2) * w @ w.T + s2**2 * np.eye(3)
    exact = -0.5 * (np.einsum("ni,ij,nj->n", x, np.linalg.inv(sigma), x))
    exact -= 0.5 * (np.linalg.slogdet(sigma)[1] + 3 * np.log(2 * np.pi))
    truth = {"a": a, "s1": s1, "s2": s2, "w": w}
    return x.astype(np.float32), exact, truth


def _bounded_raw(log_var):
    bound = models.hierarchical.LOG_VAR_BOUND
    return bound * np.arctanh(log_var / bound)


def test_hierarchical_iwae_lies_below_the_exact_log_likelihood_and_rises_with_k():
    x, exact, t = _linear_gaussian_two_layers()
    config = base_config()
    config.data.num_classes = 0
    config.model.kind, config.model.latent_dims, config.model.hidden = "hierarchical", (1, 1), ()
    config.model.decoder_fixed_variance = t["s2"] ** 2
    empty = np.zeros((len(x), 0), np.float32)
    model = models.build_model(config, Dataset(x, empty))
    params = model.init(jax.random.key(0), x[:2], empty[:2], jax.random.key(1))["params"]
    # The generative half set to the truth, so log p(x) is the exact Gaussian marginal.
    params["prior"]["p_1"]["mean"] = {"kernel": np.full((1, 1), t["a"]), "bias": np.zeros(1)}
    params["prior"]["p_1"]["log_var"] = {
        "kernel": np.zeros((1, 1)),
        "bias": np.full(1, _bounded_raw(2 * np.log(t["s1"]))),
    }
    params["decoder"]["decoder"]["out"] = {"kernel": t["w"].T, "bias": np.zeros(3)}
    # Only the encoder is trained (the ELBO's gradient w.r.t. its parameters).
    encoder = jax.tree.map(jnp.asarray, params["encoder"])
    import optax

    opt = optax.adam(3e-2)

    def neg_elbo(enc, key, xb):
        p = {"params": {**params, "encoder": enc}}
        terms = model.apply(p, xb, jnp.zeros((len(xb), 0)), key)
        return jnp.mean(terms["distortion"] + terms["rate_groups"].sum(-1))

    @jax.jit
    def step(carry, key):
        enc, state = carry
        grads = jax.grad(neg_elbo)(enc, key, x[:512])
        updates, state = opt.update(grads, state)
        return (optax.apply_updates(enc, updates), state), None

    keys = jax.random.split(jax.random.key(2), 600)
    (encoder, _), _ = jax.lax.scan(step, (encoder, opt.init(encoder)), keys)
    from cvae_jax.evaluation.estimators import iwae_bound

    trained = {"params": {**params, "encoder": encoder}}
    bound = {
        k: float(jnp.mean(iwae_bound(jax.random.key(k), model, trained, x, empty, k)))
        for k in (1, 10, 100)
    }
    log_px = float(np.mean(exact))
    assert bound[1] < bound[10] < bound[100] < log_px + 0.01
    assert log_px - bound[100] < 0.5 * (log_px - bound[1])  # closing the gap


FAMILIES = {  # every family, in three sweeps (each also a combination the others lack)
    "vamp+iwae": {"model.prior": "vamp", "model.prior_components": 4, "objective.iwae_samples": 3},
    "iaf+flow": {"model.posterior": "iaf", "model.prior": "flow", "model.flow_hidden": (8,)},
    "hierarchical+mog": {
        "model.kind": "hierarchical",
        "model.latent_dims": (2, 1),
        "model.prior": "mog",
        "model.prior_components": 2,
    },
}


def _family_config(tiny_config, family):
    for dotted, value in FAMILIES[family].items():
        section, key = dotted.split(".")
        tiny_config[section][key] = value
    tiny_config.sweep.betas, tiny_config.sweep.num_seeds = (0.5, 1.0), 1
    tiny_config.training.num_steps = 40
    return tiny_config


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_sweep_traces_once_equals_lone_runs_and_resumes_bitwise(
    tiny_config, family, tmp_path, monkeypatch
):
    config = _family_config(tiny_config, family)
    traces, original = [], runner.make_train_step

    def counting_make_train_step(*args, **kwargs):
        step = original(*args, **kwargs)
        return lambda *a: (traces.append(1), step(*a))[1]  # appends only while tracing

    monkeypatch.setattr(runner, "make_train_step", counting_make_train_step)
    ckpt = str(tmp_path / "ckpt")
    _, whole = runner.train_sweep(config, checkpoint_dir=ckpt)
    assert len(traces) == 1  # both betas, both chunks: one trace
    alone = runner.train_single(config, int(whole.seeds[0]), config.sweep.betas[1])
    member, lone = whole.member_params(0, 1), alone.params
    for a, b in zip(jax.tree.leaves(member), jax.tree.leaves(lone), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-6)
    if family != "iaf+flow":  # resume restores any state pytree; one family's is enough
        return
    shutil.rmtree(os.path.join(ckpt, "40"))  # as if killed after the checkpoint of step 20
    _, resumed = runner.train_sweep(config, checkpoint_dir=ckpt)
    for a, b in zip(jax.tree.leaves(whole.state), jax.tree.leaves(resumed.state), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_centre_of_a_flow_is_its_map_of_the_base_mean():
    model, params = _model(posterior="iaf", flow_hidden=(8,))
    moved = jax.tree.map(lambda a: a + 0.1, params)
    q = model.apply(moved, X, Y, method=model.encode)
    centre = latents.centre(q)
    np.testing.assert_allclose(centre, q.bijector.forward(q.distribution.loc), rtol=1e-6)
    assert centre.shape == (6, 2)


def test_hierarchy_reports_rate_and_active_units_per_layer_that_add_up():
    model, params = _model(kind="hierarchical", latent_dims=(2, 3), hidden=(8,))
    moved = jax.tree.map(lambda a: a + 0.05, params)
    bounds = members._bounds(model, moved, X, Y, jax.random.key(12), num_iwae=2)
    q = model.apply(moved, X, Y, method=model.encode)
    out = members.per_layer(q, bounds)
    assert out["test_rate_per_layer"].shape == (2,)
    np.testing.assert_allclose(out["test_rate_per_layer"].sum(), bounds["rate"].mean(), rtol=1e-5)
    centre = np.asarray(latents.centre(q))
    expected = [(np.var(centre[:, :2], 0) > 0.01).sum(), (np.var(centre[:, 2:], 0) > 0.01).sum()]
    np.testing.assert_array_equal(out["active_units_per_layer"], expected)
    plain, plain_params = _model()  # one layer: no per-layer columns
    assert members.per_layer(plain.apply(plain_params, X, Y, method=plain.encode), {}) == {}


def test_a_family_breaking_its_contract_fails_with_one_line_naming_it():
    import flax.linen as nn

    from cvae_jax.errors import ContractError

    class TuplePrior(nn.Module):  # the old (mean, log_var) interface
        def __call__(self, c):
            zeros = jnp.zeros((c.shape[0], 2))
            return zeros, zeros

    model, params = _model()
    broken = model.clone(prior=TuplePrior())
    with pytest.raises(ContractError, match=r"^The prior returned tuple; it must return a distrax"):
        broken.init(jax.random.key(0), X, Y, jax.random.key(1))

    class Independent(nn.Module):  # per-dimension Normals, not wrapped in distrax.Independent
        def __call__(self, c):
            return distrax.Normal(jnp.zeros((c.shape[0], 2)), 1.0)

    with pytest.raises(ContractError, match=r"event shape \(\); it must have one event axis"):
        model.clone(prior=Independent()).init(jax.random.key(0), X, Y, jax.random.key(1))
    models.MODELS.register("not_a_cvae")(lambda config, data: object())
    try:
        config = base_config()
        config.model.kind = "not_a_cvae"
        with pytest.raises(ContractError, match=r"'not_a_cvae': its builder returned object"):
            models.build_model(config, Dataset(np.asarray(X), np.asarray(Y)))
    finally:
        models.MODELS._entries.pop("not_a_cvae")


def test_iwae_objective_keeps_the_hybrid_gsnn_term():
    model, params = _model()
    iwae = model.clone(iwae_samples=3, gsnn_term=True)
    terms = iwae.apply(params, X, Y, jax.random.key(13))
    assert terms["log_ratio_samples"].shape == (3, 6) and terms["gsnn_distortion"].shape == (6,)
    hyper = {k: jnp.asarray(v) for k, v in objectives.DEFAULT_HYPER.items()}
    cvae_only, _ = objectives.loss_and_metrics(terms, hyper)
    hybrid, _ = objectives.loss_and_metrics(terms, {**hyper, "hybrid_alpha": jnp.asarray(0.5)})
    expected = 0.5 * cvae_only + 0.5 * jnp.mean(terms["gsnn_distortion"])
    np.testing.assert_allclose(hybrid, expected, rtol=1e-6)
