"""The conditional VQ-VAE (van den Oord et al. 2017): `model.kind='vq'`.

x and c -> z_e [B, P, D] (an MLP encoder, P = `model.latent_dim` code vectors of
`model.code_dim`) -> the nearest of `model.codebook_size` codes -> the decoder sees z_q and c
(any registered decoder: factorised or autoregressive). Trained on
  -log p(x | z_q, c) + ||sg[z_e] - e||^2 + beta_c ||z_e - sg[e]||^2 - log p(k | c),
the commitment beta_c a grid axis (`sweep.grid.commitment`). The codebook moves by the
second term's gradient (`model.codebook_update='gradient'`) or by the moving averages of the
paper's appendix (`'ema'`): then the codebook and the averages live in the variable
collection 'vq_ema' beside the parameters, which the train step updates from the forward
pass instead of the optimiser, so they are checkpointed, vmapped and resumed with them.
With EMA, `model.codebook_restart` > 0 redraws the codes used by fewer than that many
vectors a step from the batch's encoder outputs (Dhariwal et al. 2020's random restarts).

The latent, as the rest of the library sees it, is the code vector k [P] (int32
indices): q(k|x,c) is a point mass at the encoder's codes (distrax.Deterministic), and the
prior p(k|c) is `model.code_prior`: 'uniform' (the paper's training prior, whose KL is the
constant P log K) or 'autoregressive', fitted by the last term on the codes, which carry no
gradient, so it never shapes them: the paper fits its prior after training, this one is
fitted alongside on the codes of each step (`code_prior.py`). What is reported as the rate
is -log p(k_q|c) and as the ELBO
  log p(x|c) >= log p(x | z_q, c) + log p(k_q | c),
the bound of a point-mass posterior (its entropy is 0). Importance sampling gains nothing
from a point mass: the IWAE bound equals this ELBO for every K.
"""

from collections.abc import Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp

from cvae_jax import checks
from cvae_jax.core import distributions as dist
from cvae_jax.models import vq
from cvae_jax.models.code_prior import (
    AutoregressiveCodePrior,
    CausalCodeNet,
    UniformCodePrior,
)
from cvae_jax.models.cvae import CVAE, reads_x
from cvae_jax.models.mlp import MLP
from cvae_jax.models.registry import MODELS, build_decoder

CODEBOOK_UPDATES = ("gradient", "ema")
CODE_PRIORS = ("uniform", "autoregressive")
EMA_COLLECTION = "vq_ema"


class VQEncoder(nn.Module):
    """z_e(x, c) [B, P, D]: an MLP on [x, c] and a linear head."""

    num_positions: int
    code_dim: int
    hidden: Sequence[int] = (64,)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x, c):
        h = MLP(self.hidden, self.activation)((x, c))
        z_e = nn.Dense(self.num_positions * self.code_dim, name="z_e")(h)
        return z_e.reshape(*z_e.shape[:-1], self.num_positions, self.code_dim)


class Codebook(nn.Module):
    """K codes of D numbers: a param moved by the codebook loss, or EMA state (`update`),
    whose codes used by fewer than `restart` vectors a step are redrawn from the batch
    (`vq.restart_dead_codes`; 0: never)."""

    codebook_size: int
    code_dim: int
    update: str = "gradient"
    decay: float = 0.99
    restart: float = 0.0

    def setup(self):
        init = vq.CODEBOOK_INIT
        shape = (self.codebook_size, self.code_dim)
        if self.update == "gradient":
            self.codes = self.param("codebook", init, shape)
            return
        rng = lambda: self.make_rng("params")  # noqa: E731
        self.ema = self.variable(EMA_COLLECTION, "codebook", lambda: init(rng(), shape))
        state = vq.ema_init(self.ema.value)
        self.cluster_size = self.variable(
            EMA_COLLECTION, "cluster_size", lambda: state.cluster_size
        )
        self.embed_sum = self.variable(EMA_COLLECTION, "embed_sum", lambda: state.embed_sum)

    def table(self):
        """The codes [K, D]; the EMA codebook carries no gradient (the averages move it)."""
        if self.update == "gradient":
            return self.codes
        return jax.lax.stop_gradient(self.ema.value)

    def __call__(self, z_e, key) -> vq.VQOutput:
        """Quantise z_e [..., D] (commitment term unweighted); with EMA in training (its
        collection mutable), move the codebook by one step of the averages, then restart
        its dead codes (drawn with `key`)."""
        codebook = self.table()
        z_q, indices = vq.quantize(z_e, codebook)
        losses = vq.vq_losses(z_e, z_q, 1.0)
        if self.update == "ema" and self.is_mutable_collection(EMA_COLLECTION):
            if not self.is_initializing():
                z = jax.lax.stop_gradient(z_e)
                state = vq.EMAState(self.cluster_size.value, self.embed_sum.value)
                state, new = vq.ema_update(state, z, indices, self.decay)
                if self.restart > 0:
                    state, new = vq.restart_dead_codes(state, new, z, key, self.restart)
                self.cluster_size.value, self.embed_sum.value = state
                self.ema.value = new
        return vq.VQOutput(vq.straight_through(z_e, z_q), indices, *losses)


class VQCVAE(CVAE):
    """The CVAE interface over discrete codes (module docstring); z is the code vector k."""

    codebook: nn.Module | None = None

    def _codes(self, x, c):
        """The encoder's code indices [B, P]."""
        return vq.quantize(self.encoder(x, c), self.codebook.table())[1]

    def _posterior(self, x, c):
        return distrax.Independent(distrax.Deterministic(self._codes(x, c)), 1)

    def _decode(self, z, c, x):
        e = self.codebook.table()[z.astype(jnp.int32)]  # [..., P, D]
        return self._decode_vectors(e.reshape(*e.shape[:-2], -1), c, x)

    def _decode_vectors(self, z_q, c, x):
        return self.decoder(z_q, c, x) if reads_x(self) else self.decoder(z_q, c)

    def __call__(self, x, y, key):
        c = self.condition(y)  # the key only draws restarted codes: the rest is deterministic
        out = self.codebook(self.encoder(x, c), key)
        decoded = self._decode_vectors(out.z_q.reshape(x.shape[0], -1), c, x)
        return {
            "distortion": -dist.decoder_log_prob(x, decoded),  # [B]
            "rate_groups": -self._prior(c).log_prob(out.indices)[:, None],  # [B, 1]: fits the prior
            "reconstruction": dist.decoder_mean(decoded),  # [B, D]
            "vq_codebook": jnp.sum(out.codebook_loss, -1),  # [B]
            "vq_commitment": jnp.sum(out.commitment_loss, -1),  # [B], unweighted
        }

    def latent_diagnostics(self, x, y) -> dict:
        """Codebook usage on (x, y): perplexity and dead codes (codes no input picks)."""
        indices, size = self._codes(x, self.condition(y)), self.codebook.codebook_size
        return {
            "perplexity": vq.perplexity(indices, size),
            "dead_codes": vq.dead_codes(indices, size),
        }


VQ_KEYS = (
    "codebook_size", "code_dim", "codebook_update", "ema_decay", "codebook_restart", "code_prior",
    "code_prior_hidden",
)  # fmt: skip


@MODELS.register("vq", config_keys=VQ_KEYS)
def build_vq_cvae(config, data) -> VQCVAE:
    """The conditional VQ-VAE described by the `model` section, sized from the data."""
    m, num_classes = config.model, config.data.get("num_classes", 0)
    update, prior = m.get("codebook_update", "gradient"), m.get("code_prior", "autoregressive")
    checks.choice("model.codebook_update", update, CODEBOOK_UPDATES)  # as config validation
    checks.choice("model.code_prior", prior, CODE_PRIORS)
    positions, size = m.latent_dim, int(m.get("codebook_size", 64))
    code_dim, hidden = int(m.get("code_dim", 8)), tuple(m.hidden)
    decay, restart = float(m.get("ema_decay", 0.99)), float(m.get("codebook_restart", 0.0))
    if prior == "uniform":
        code_prior = UniformCodePrior(positions, size)
    else:
        width = int(m.get("code_prior_hidden", 64))
        net = CausalCodeNet(positions, size, width, activation=m.activation)
        code_prior = AutoregressiveCodePrior(net)
    return VQCVAE(
        VQEncoder(positions, code_dim, hidden, m.activation),
        build_decoder(m, data.x.shape[1]),
        code_prior,
        num_classes,
        codebook=Codebook(size, code_dim, update, decay, restart),
    )
