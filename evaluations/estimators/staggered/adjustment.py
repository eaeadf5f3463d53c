"""The 2x2 DiD of one group-time cell, with its influence function: DRDID's panel estimators.

With covariates each cell is estimated as R did does, by the DRDID package's panel estimators on
the cell's units (evaluations/estimators/drdid.py, shared with the two-wave designs): ``"dr"`` is
Sant'Anna & Zhao's doubly robust DiD (``DRDID::drdid_panel``), ``"reg"`` the outcome-regression
DiD (``reg_did_panel``) and ``"ipw"`` the standardised inverse-probability-weighted DiD
(``std_ipw_did_panel``). Without covariates every method reduces to the weighted difference in
mean changes (drdid.difference_in_mean_changes). Influence functions here are on the cell's own scale
(n_cell units). A cell that cannot be estimated becomes that cell's note (a string), never an
exception that would end the whole estimate.
"""
from __future__ import annotations

import numpy as np

from evaluations.estimators import drdid
from evaluations.estimators.propensity import fit_logit

# R did's overlap check refuses a cell whose (unweighted) propensity score reaches this.
_OVERLAP_LIMIT = 0.999


def covariate_cell(dy, d, x, w, est_method):
    """DRDID on the cell (weights normalised to mean 1, as DRDID does), after R did's overlap check."""
    if np.linalg.matrix_rank(x[d == 0]) < x.shape[1]:
        return "the covariates are collinear among the comparison units"
    if est_method in ("dr", "ipw"):
        fit = fit_logit(x[:, 1:], d, None, ridge=0.0, max_iter=100)  # R's check fits an unweighted logit
        if not fit.converged or fit.probabilities.max() >= _OVERLAP_LIMIT:
            return ("overlap fails: the covariates predict cohort membership almost perfectly "
                    f"(propensity score >= {_OVERLAP_LIMIT})")
    return drdid.estimate(dy, d, x, w / w.mean(), est_method)
