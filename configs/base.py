"""Defaults shared by every experiment; each `configs/<name>.py` overrides what differs."""

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()

    config.data = ml_collections.ConfigDict()
    config.data.name = "two_gaussians"
    config.data.seed = 0
    config.data.num_examples = 2000
    config.data.num_classes = 2

    config.model = ml_collections.ConfigDict()
    config.model.kind = "mlp"
    config.model.latent_dim = 2
    config.model.hidden = (64,)
    config.model.activation = "relu"
    config.model.prior = "standard"  # standard | fixed_conditional | learned_conditional | network
    config.model.prior_means = ((-2.0, 0.0), (2.0, 0.0))  # fixed_conditional only
    config.model.prior_log_vars = ((0.0, 0.0), (0.0, 0.0))
    config.model.encoder_uses_label = True
    config.model.likelihood = "gaussian"  # gaussian | bernoulli
    config.model.decoder_variance = "fixed"  # fixed | per_dim | per_example
    config.model.decoder_fixed_variance = 1.0

    config.objective = ml_collections.ConfigDict()
    config.objective.free_bits = 0.0  # lambda, nats per group; 0 switches free bits off
    config.objective.free_bits_groups = 1
    config.objective.capacity = 0.0  # C, nats
    config.objective.capacity_gamma = 0.0  # 0 switches the capacity term off
    config.objective.kl_warmup_steps = 0  # linear KL annealing of beta; 0 switches it off

    config.training = ml_collections.ConfigDict()
    config.training.num_steps = 5000
    config.training.batch_size = 256
    config.training.learning_rate = 1e-3
    config.training.lr_schedule = "constant"  # constant | cosine
    config.training.grad_clip_norm = 0.0
    config.training.log_every = 500  # steps per compiled chunk; one log line each
    config.training.on_nonfinite = "freeze"  # freeze a diverged member and go on, or "raise"
    # With a workdir: a checkpoint every this many steps (a multiple of log_every; 0: every
    # chunk) and at the end; the newest few are kept. A rerun resumes from the newest.
    config.training.checkpoint_every = 0
    config.training.checkpoints_to_keep = 3

    config.sweep = ml_collections.ConfigDict()
    config.sweep.betas = (0.0, 0.01, 1.0)
    config.sweep.num_seeds = 3
    config.sweep.seed = 0
    # How members are laid out (results do not depend on these; 0 means automatic):
    # members per cache-sized group (16 on CPU, all at once on accelerators), members per
    # compiled call (from device memory), devices the member axis is sharded over (all).
    config.sweep.group_size = 0
    config.sweep.max_members_per_call = 0
    config.sweep.num_devices = 0
    return config
