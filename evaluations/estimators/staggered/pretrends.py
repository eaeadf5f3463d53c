"""The pre-trend test: R did's Wald test that every pre-treatment ATT(g,t) is zero."""
from __future__ import annotations

import numpy as np

from evaluations.estimators.staggered.influence import ZERO_SE, wald
from evaluations.estimators.staggered.results import PreTrendTest


def pre_trend_test(cells, influence, inference) -> PreTrendTest | None:
    """Wald test of all pre-treatment ATT(g,t) = 0, as in R did's att_gt.

    Cells with no variance (the universal base period) are left out, as R does. When the
    covariance is singular the Moore-Penrose inverse is used with df = its rank; R reports no
    test in that case.
    """
    pre = [k for k, c in enumerate(cells) if c.time < c.group and not c.normalised]
    if not pre:
        return None
    att = np.array([cells[k].att for k in pre])
    cov = inference.covariance(influence[:, pre])
    keep = np.diag(cov) > ZERO_SE**2
    if not keep.any():
        return None
    n_clusters = None if inference.cluster is None else int(inference.cluster.max() + 1)
    test = wald(att[keep], cov[np.ix_(keep, keep)], n_clusters)
    return None if test is None else PreTrendTest(*test)
