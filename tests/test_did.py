"""Doubly robust DiD with clustered data: the bootstrap must resample whole clusters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from evaluations.estimators.did import doubly_robust_did
from evaluations.estimators.matching import estimate_att


def clustered(seed: int, n: int = 900, n_clusters: int = 30, effect: float = 0.3) -> pd.DataFrame:
    """Sites choose to join by their covariate mix; each site shares a shock in the change."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, n_clusters, n)
    site_x = rng.normal(0, 1, n_clusters)
    x = site_x[cluster] + rng.normal(0, 1, n)
    treated = rng.binomial(1, expit(0.8 * site_x))[cluster]
    shock = rng.normal(0, 0.4, n_clusters)[cluster]
    y0 = 3 + 0.5 * x + rng.normal(0, 0.7, n)
    change = 0.1 + 0.3 * x + shock + effect * treated + rng.normal(0, 0.6, n)
    return pd.DataFrame({"treated": treated, "x": x, "cluster": cluster, "y0": y0, "y1": y0 + change})


def test_clustered_doubly_robust_did_resamples_clusters():
    df = clustered(1)
    plain = doubly_robust_did(df, outcome="y", covariates=["x"], seed=3)
    est = doubly_robust_did(df, outcome="y", covariates=["x"], seed=3, cluster=True)
    assert est.estimate == plain.estimate  # the same estimator; only its uncertainty changes
    assert est.std_error > 2 * plain.std_error  # site shocks dominate the person-level noise
    assert est.n_clusters == 30 and plain.n_clusters is None
    assert "cluster bootstrap" in est.estimator
    assert est.ci_high == pytest.approx(est.estimate + stats.t.ppf(0.975, 29) * est.std_error, rel=1e-12)


def test_clustered_doubly_robust_did_covers_the_truth():
    """40 simulated evaluations: person-level intervals cover far too rarely, cluster-bootstrap ones do."""
    plain, fixed = [], []
    for s in range(40):
        df = clustered(100 + s).assign(change=lambda d: d.y1 - d.y0)
        kw = dict(outcome="change", treatment="treated", covariates=["x"], method="doubly_robust",
                  n_bootstrap=100, seed=s)
        plain.append(estimate_att(df, **kw))
        fixed.append(estimate_att(df, **kw, cluster="cluster"))
    cover = lambda ests: np.mean([e.ci_low <= 0.3 <= e.ci_high for e in ests])  # noqa: E731
    assert cover(plain) < 0.75
    assert cover(fixed) >= 0.875


def test_matching_refuses_clusters_rather_than_ignoring_them():
    with pytest.raises(ValueError, match="Cluster-robust"):
        estimate_att(clustered(2), outcome="y1", treatment="treated", covariates=["x"], cluster="cluster")
