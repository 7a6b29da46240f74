"""The MNIST likelihood benchmark (Burda et al. 2016's protocol), beside the published table.

python -m experiments.mnist_likelihood --config=configs/mnist_likelihood.py --workdir=DIR \
    --config.data.path=/path/to/mnist          # the published budget: 3,280 epochs
    --config=configs/mnist_likelihood.py:quick  # the one-layer VAE, 10 epochs, k = 1,000
    --config=configs/mnist_likelihood.py:epochs=100  # every row, a shorter budget
    --config=configs/mnist_likelihood.py:smoke  # the bundled 8x8 digits, seconds

Dynamic binarisation in training; the 10,000 test images binarised once (data.seed); the
last 10,000 training images select each member's best epoch; -log p(x) by importance
sampling with k = 5,000 per test image.
"""

import ml_collections

from cvae_jax.config import base_config
from cvae_jax.errors import ConfigError

# Every row of the table; `variants` picks some (docs/mnist.md says what each one is).
ROWS = (
    "vae_1", "iwae5_1", "iwae50_1", "vae_2", "iwae5_2", "iwae50_2",
    "mog_1", "vamp_1", "iaf_1", "vq_1", "cvae_standard", "cvae_learned_conditional", "cvae_vamp",
)  # fmt: skip
PUBLISHED_EPOCHS = 3280  # Burda et al. 2016: sum of 3^i epochs, i = 0..7
TRAIN_EXAMPLES = 50_000  # 60,000 minus the validation split


def get_config(arg: str = ""):
    options = _parse(arg)
    config = base_config()
    config.data.name = "mnist"
    config.data.path = ""
    config.data.binarize = "dynamic"
    config.data.num_classes = 10  # the label-conditioned rows read it; the VAE rows do not
    config.data.validation_examples = 10_000

    # Burda et al.'s one-layer model: 784-200-200-50, tanh, Bernoulli decoder; the two-layer
    # rows use latent_dims (100, 50) with the same hidden widths (docs/mnist.md).
    config.model.kind = "image_mlp"
    config.model.hidden = (200, 200)
    config.model.activation = "tanh"
    config.model.latent_dim = 50
    config.model.likelihood = "bernoulli"
    config.model.prior_components = 500  # mog and vamp: the VampPrior paper's K for MNIST
    # vamp: Tomczak & Welling's pseudo-inputs (near-black start, hardtanh to [0, 1]): 4.4
    # nats better than grey, unconstrained ones after 3 epochs on validation (docs/mnist.md).
    config.model.pseudo_inputs = "tomczak"
    config.model.flow_steps = 2
    config.model.flow_hidden = (200,)

    batch, epochs = 20, options.get("epochs", PUBLISHED_EPOCHS)
    steps_per_epoch = TRAIN_EXAMPLES // batch
    config.training.batch_size = batch  # Burda et al.
    config.training.learning_rate = 1e-3
    config.training.lr_schedule = "burda"  # 3^i epochs at 1e-3 * 10^(-i/7), compressed
    config.training.num_steps = epochs * steps_per_epoch
    config.training.log_every = steps_per_epoch  # one line, and one validation, per epoch
    config.training.eval_every = steps_per_epoch
    config.training.checkpoint_every = 10 * steps_per_epoch
    config.sweep.betas = (1.0,)
    config.sweep.num_seeds = 1
    # The VampPrior rows anneal the KL term linearly over this many first steps (Tomczak &
    # Welling 2018: 100 epochs, here 100 of the 3,280 scaled to the run's budget), but over
    # 10 epochs at least, or the whole of a shorter run: with 1 epoch its code is nearly
    # empty from step 100 on, with 10 it trains (docs/mnist.md).
    config.vamp_warmup_steps = min(
        max(round(100 / PUBLISHED_EPOCHS * config.training.num_steps), 10 * steps_per_epoch),
        config.training.num_steps,
    )

    config.variants = ROWS
    config.evaluation = ml_collections.ConfigDict()
    config.evaluation.test_samples = 5000  # k of the importance-sampled -log p(x)
    config.evaluation.test_examples = 0  # 0: all 10,000 test images
    config.evaluation.batch_size = 100  # test images per evaluation step
    config.evaluation.seed = 0
    # -log p(x) of the validation images, k = curve_samples, during training at these epochs
    # (the ends of Burda et al.'s passes, scaled to the budget): where each run is heading,
    # on the published table's scale (the per-epoch validation bound is looser by 4-5 nats).
    config.evaluation.curve_epochs = _pass_ends(epochs)
    config.evaluation.curve_samples = 1000
    config.evaluation.curve_examples = 0  # 0: all validation images

    if "quick" in options:
        config.variants = ("vae_1",)
        config.training.num_steps = options.get("epochs", 10) * steps_per_epoch
        config.training.lr_schedule = "constant"  # the 3^i passes need their full budget
        config.evaluation.test_samples = 1000
        config.evaluation.curve_epochs = (1, 3, 10)
        config.evaluation.curve_examples = 1000
        config.vamp_warmup_steps = config.training.num_steps  # the VampPrior: see above
    if "smoke" in options:  # the bundled 8x8 digits: the whole pipeline in seconds
        config.variants = ("iwae5_1", "cvae_vamp")  # an unconditional and a conditioned row
        config.data.name = "digits"
        config.data.test_fraction = 0.2
        config.data.validation_examples = 200
        config.model.hidden = (32,)
        config.model.latent_dim = 4
        config.model.prior_components = 10
        config.model.flow_hidden = (16,)
        config.training.batch_size = 32
        config.training.num_steps, config.training.log_every = 60, 20
        config.training.eval_every, config.training.checkpoint_every = 20, 20
        config.vamp_warmup_steps = 2
        config.evaluation.test_samples = 20
        config.evaluation.test_examples = 64
        config.evaluation.batch_size = 32
        config.evaluation.curve_epochs = (0.5, 1.0)  # the ends of the first and second chunk
        config.evaluation.curve_samples = 10
    return config


def _pass_ends(epochs: int) -> tuple[int, ...]:
    """The epochs at which Burda et al.'s passes end (1, 4, 13, ..., 3280: the sums of 3^i),
    scaled to a budget of `epochs`."""
    ends = [sum(3**j for j in range(i + 1)) for i in range(8)]
    return tuple(sorted({max(1, round(e * epochs / PUBLISHED_EPOCHS)) for e in ends}))


def _parse(arg: str) -> dict:
    """'quick', 'smoke', 'epochs=N', comma-separated."""
    options = {}
    for token in filter(None, (t.strip() for t in arg.split(","))):
        name, _, value = token.partition("=")
        if name in ("quick", "smoke") and not value:
            options[name] = True
        elif name == "epochs" and value.isdigit() and int(value) > 0:
            options["epochs"] = int(value)
        else:
            raise ConfigError(
                f"Unknown config argument {token!r}; use 'quick', 'smoke' or 'epochs=N' "
                "(comma-separated)."
            )
    return options
