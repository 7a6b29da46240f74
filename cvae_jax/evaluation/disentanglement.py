"""Disentanglement metrics of a code against the known factors that generated the data.

Each metric is a pure function `metric(key, codes, factors, ...) -> float`: `codes` [N, Dz]
are the encoder means of N images, `factors` [N, F] the integer classes of their generative
factors (each factor must take at least two classes). Every random draw (the pairs and
batches sharing a factor, the subsamples, the train/test splits, the forests) comes from one
NumPy generator seeded by `key` alone, so the same key gives the same number. Pairs and
batches are drawn from the N examples given (a factor's class is held fixed by drawing among
the examples that share it), not from a simulator as in disentanglement_lib (Locatello et
al. 2019); the defaults below are smaller than disentanglement_lib's so that each metric
runs in about a second on N = 5,000 codes on one CPU core.

Where a definition leaves a choice open, the one taken here:
  beta_vae_score (Higgins et al. 2017): a point is z_diff = 1/L sum_l |z_l^(1) - z_l^(2)| over
    L = 64 pairs sharing the class of a factor k drawn uniformly; 2,000 training and 1,000
    held-out points (disentanglement_lib: 10,000 / 5,000); scikit-learn's
    LogisticRegression (L2, C = 1) on the raw z_diff as the low-capacity linear
    classifier; the score is its held-out accuracy. Chance: 1/F.
  factor_vae_score (Kim and Mnih 2018): each code dimension divided by its standard
    deviation over the N codes; dimensions whose standard deviation is below 0.05 (an
    absolute threshold on the code's own scale, as disentanglement_lib: right for the
    means of a posterior under a N(0, I) prior, and 0 keeps every dimension) are dropped as
    collapsed; a vote is the argmin of the per-dimension variance (ddof = 1) in a batch of
    L = 64 examples sharing the class of a factor k; the majority-vote classifier (dim ->
    the factor it voted for most) is read off 2,000 training votes and scored on 1,000
    held-out votes. Chance: 1/F; 0 when every dimension has collapsed.
  mig (Chen et al. 2018): each code dimension discretised into 20 equal-width bins over its
    range (disentanglement_lib's histogram), mutual information in nats with each factor
    (sklearn.metrics.mutual_info_score) divided by the factor's entropy, the gap between
    the two most informative dimensions, averaged over factors; at most 10,000 codes
    (a random subset beyond). Chance: about 0 (the plug-in MI's small positive bias).
  dci (Eastwood and Williams 2018): the importance matrix R [Dz, F] is the impurity
    importance of a random forest classifier per factor (the paper's own nonlinear model,
    here classifying the factor's class): 20 trees of depth <= 8 that consider every code
    dimension at each split, since with random feature subsets a tree must sometimes split
    on an irrelevant dimension and the true factors as the code scored D = 0.7-0.8, not 1. It
    is fitted on 2,000 codes and scored on 1,000 held-out ones (fewer when N is smaller, in
    the same proportion). Not disentanglement_lib's gradient boosting, which fits one tree
    per class per stage in series (10 to 40 s for five factors on 2,000 codes on one core)
    for the same kind of importance. Disentanglement = sum_i rho_i (1 - H_F(P_i.)) with
    rho_i code i's share of R; completeness = sum_j rho_j (1 - H_Dz(P_.j)), entropies in
    base F and Dz; informativeness is the held-out accuracy averaged over factors
    (disentanglement_lib's reading of the paper's prediction error). Chance: about 0 for D
    and C (finite-sample importances are never exactly uniform); informativeness at the
    majority-class rate.
"""

import jax
import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import mutual_info_score

from cvae_jax.errors import DataError

_CHUNK = 512  # points gathered at a time: memory O(chunk * L * Dz), not O(points * L * Dz)


def _inputs(codes, factors) -> tuple[np.ndarray, np.ndarray]:
    """codes as float64 [N, Dz]; factors relabelled 0..C_j - 1 per factor, int [N, F]."""
    codes, factors = np.asarray(codes, np.float64), np.asarray(factors)
    if codes.ndim != 2 or factors.ndim != 2 or codes.shape[0] != factors.shape[0]:
        raise DataError(
            f"codes must be [N, Dz] and factors [N, F] for the same N examples; got codes "
            f"{codes.shape} and factors {factors.shape}."
        )
    if not np.issubdtype(factors.dtype, np.integer):
        raise DataError(f"factors must be integer classes; got dtype {factors.dtype}.")
    if not np.all(np.isfinite(codes)):
        raise DataError("codes contain NaN or inf.")
    dense = np.stack([np.unique(f, return_inverse=True)[1] for f in factors.T], 1)
    constant = [j for j in range(dense.shape[1]) if dense[:, j].max(initial=0) == 0]
    if constant:
        raise DataError(f"factor(s) {constant} take a single class; drop them from factors.")
    return codes, dense.reshape(factors.shape)


def _rng(key: jax.Array) -> np.random.Generator:
    """A NumPy generator that depends on `key` alone."""
    return np.random.default_rng(np.asarray(jax.random.bits(key, (4,))))


def _sharing(rng, classes, k, c) -> np.ndarray:
    """Indices, shaped like k and c, drawn uniformly among the examples whose factor k has
    class c (Higgins et al. 2017's 'pair with one factor fixed', sampled from the data)."""
    f = classes.shape[1]
    order = np.argsort(classes, axis=0, kind="stable").T  # [F, N]
    counts = np.zeros((f, classes.max() + 1), np.int64)
    for j in range(f):
        counts[j] = np.bincount(classes[:, j], minlength=counts.shape[1])
    starts = np.cumsum(counts, 1) - counts  # [F, Cmax]
    offset = np.floor(rng.random(np.shape(k)) * counts[k, c]).astype(np.int64)
    return order[k, starts[k, c] + offset]


def _in_chunks(fn, *index_arrays) -> np.ndarray:
    p = index_arrays[0].shape[0]
    return np.concatenate(
        [fn(*(a[i : i + _CHUNK] for a in index_arrays)) for i in range(0, p, _CHUNK)]
    )


def beta_vae_score(key, codes, factors, batch_size=64, num_train=2000, num_eval=1000) -> float:
    """Higgins et al. (2017): held-out accuracy of a linear classifier predicting which
    factor a batch of pairs shared from their mean absolute code difference. Chance 1/F."""
    codes, classes = _inputs(codes, factors)
    rng = _rng(key)
    num = num_train + num_eval
    k = rng.integers(classes.shape[1], size=num)  # [P]
    first = rng.integers(classes.shape[0], size=(num, batch_size))  # [P, L]
    ks = np.broadcast_to(k[:, None], first.shape)
    second = _sharing(rng, classes, ks, classes[first, ks])  # [P, L]
    z_diff = _in_chunks(lambda a, b: np.abs(codes[a] - codes[b]).mean(1), first, second)
    clf = LogisticRegression(max_iter=2000).fit(z_diff[:num_train], k[:num_train])
    return float(clf.score(z_diff[num_train:], k[num_train:]))


def factor_vae_score(
    key, codes, factors, batch_size=64, num_train=2000, num_eval=1000, prune_threshold=0.05
) -> float:
    """Kim and Mnih (2018): held-out accuracy of the majority-vote classifier from the
    least-varying normalised code dimension of a batch to the factor held fixed. Chance 1/F."""
    codes, classes = _inputs(codes, factors)
    rng = _rng(key)
    scale = codes.std(0)  # [Dz]
    active = np.flatnonzero(scale >= prune_threshold)
    if active.size == 0:
        return 0.0
    normalised = codes[:, active] / scale[active]
    num, f = num_train + num_eval, classes.shape[1]
    k = rng.integers(f, size=num)  # [P]
    c = classes[rng.integers(classes.shape[0], size=num), k]  # [P]
    shape = (num, batch_size)
    batch = _sharing(
        rng, classes, np.broadcast_to(k[:, None], shape), np.broadcast_to(c[:, None], shape)
    )
    dim = _in_chunks(lambda b: normalised[b].var(1, ddof=1).argmin(1), batch)  # [P]
    votes = lambda s: np.bincount(dim[s] * f + k[s], minlength=active.size * f).reshape(-1, f)
    train, held_out = votes(slice(None, num_train)), votes(slice(num_train, None))
    return float(held_out[np.arange(active.size), train.argmax(1)].sum() / num_eval)


def mig_per_factor(key, codes, factors, num_bins=20, num_points=10000) -> np.ndarray:
    """Chen et al. (2018): per factor, the gap in normalised mutual information between
    the two code dimensions most informative about it, [F]."""
    codes, classes = _inputs(codes, factors)
    if codes.shape[1] < 2:
        raise DataError(f"MIG needs at least two code dimensions; got {codes.shape[1]}.")
    if codes.shape[0] > num_points:
        keep = _rng(key).choice(codes.shape[0], num_points, replace=False)
        codes, classes = codes[keep], classes[keep]
    binned = [np.digitize(z, np.histogram(z, num_bins)[1][:-1]) for z in codes.T]
    info = np.array([[mutual_info_score(f, z) for f in classes.T] for z in binned])  # [Dz, F]
    entropy = np.array([mutual_info_score(f, f) for f in classes.T])  # [F]
    top = -np.sort(-info, axis=0)
    return (top[0] - top[1]) / entropy


def mig(key, codes, factors, num_bins=20, num_points=10000) -> float:
    """Chen et al. (2018)'s mutual information gap, averaged over factors. Chance about 0."""
    return float(mig_per_factor(key, codes, factors, num_bins, num_points).mean())


def importance_matrix(
    key, codes, factors, num_train=2000, num_test=1000, num_trees=20
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R [Dz, F]: one random forest per factor (Eastwood and Williams 2018), each column
    its impurity importances over the code; and the train and test accuracies [F]."""
    codes, classes = _inputs(codes, factors)
    rng = _rng(key)
    n = codes.shape[0]
    if num_train + num_test > n:  # fewer codes than asked: the same train/test proportion
        num_train = int(round(n * num_train / (num_train + num_test)))
        num_test = n - num_train
    order = rng.permutation(n)
    train, test = order[:num_train], order[num_train : num_train + num_test]
    columns, accuracy = [], []
    for f in classes.T:
        forest = RandomForestClassifier(
            n_estimators=num_trees,
            max_depth=8,
            max_features=None,  # every dimension at every split: no forced irrelevant splits
            random_state=int(rng.integers(2**31)),
        ).fit(codes[train], f[train])
        columns.append(forest.feature_importances_)
        accuracy.append((forest.score(codes[train], f[train]), forest.score(codes[test], f[test])))
    return np.stack(columns, 1), *np.array(accuracy).T


def _weighted_score(importance: np.ndarray) -> float:
    """sum_i rho_i (1 - H(P_i.)), entropy in base (number of columns), over rows i."""
    total = importance.sum()
    if importance.shape[1] < 2 or total <= 0:
        return float(total > 0)
    rows = importance.sum(1, keepdims=True)
    p = importance / np.where(rows > 0, rows, 1.0)
    entropy = -np.sum(p * np.log(np.where(p > 0, p, 1.0)), 1) / np.log(importance.shape[1])
    return float(np.sum(rows[:, 0] / total * (1.0 - entropy)))


def dci(key, codes, factors, num_train=2000, num_test=1000, num_trees=20) -> dict:
    """Eastwood and Williams (2018): disentanglement, completeness and informativeness
    (held-out accuracy; also its training value) from the importance matrix."""
    r, train_accuracy, test_accuracy = importance_matrix(
        key, codes, factors, num_train, num_test, num_trees
    )
    return {
        "disentanglement": _weighted_score(r),
        "completeness": _weighted_score(r.T),
        "informativeness_train": float(train_accuracy.mean()),
        "informativeness_test": float(test_accuracy.mean()),
    }


def dci_disentanglement(key, codes, factors, num_train=2000, num_test=1000, num_trees=20) -> float:
    """Eastwood and Williams (2018)'s disentanglement: sum_i rho_i (1 - H_F(P_i.)). Chance
    about 0."""
    return dci(key, codes, factors, num_train, num_test, num_trees)["disentanglement"]
