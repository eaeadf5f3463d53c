"""DoWhy's model -> identify -> estimate -> refute flow for the ATT estimators; the only module that imports DoWhy.

Public DoWhy API only:

* ``CausalModel(data, treatment, outcome, common_causes)``, ``identify_effect`` (with
  ``method_name="maximal-adjustment"``: adjust for every covariate given, without DoWhy's
  exhaustive search over subsets, 2^p back-door checks, seconds for the 14 Dehejia-Wahba
  covariates) and ``estimate_effect(method_name=..., target_units="att", method_params=...)``.
* Matching, IPW and AIPW reach DoWhy as estimators of ours: DoWhy has none with the ATT, a
  caliper and ``k``, none with an ATT doubly robust estimator, and its own
  ``backdoor.propensity_score_weighting`` takes no survey weights and no influence function
  (without weights ours gives its number, with clipping off: DoWhy clips scores to [0.05, 0.95]
  by default, which silently changes the estimand when, as with the LaLonde-CPS data, most
  comparison units have scores near 0; a lack of overlap is an error instead,
  propensity.require_score_overlap). They reach DoWhy through its documented route for
  estimators outside DoWhy: ``method_name="backdoor.<module path>.<Class>"`` naming an
  estimator class (DoWhy 0.14 imports it from that dotted path and requires a
  ``CausalEstimator`` subclass). Ours subclass ``PropensityScoreEstimator``, the documented
  base of DoWhy's propensity-score estimators (its functional API constructs these classes
  directly), and use only its public surface: the constructor, ``fit`` (which keeps DoWhy's
  own bookkeeping and fits our propensity model), ``update_input`` (records the target units
  the refuters read back), ``propensity_score_model``, ``get_new_estimator_object``
  (overridden to build a fresh estimator for the refuter's estimand, so a placebo treatment or
  an added random common cause really reaches our kernel), ``CausalEstimate(...)`` and
  ``add_estimator``. They keep their own estimand and never read or write DoWhy's underscore
  attributes (tests/test_dowhy_public_api.py checks every module under evaluations/).
* ``CausalModel.refute_estimate`` with ``placebo_treatment_refuter`` (a seeded permutation of
  the treatment), ``random_common_cause`` and ``data_subset_refuter``; the refuters re-fit the
  very estimator that produced the estimate.

Trade-off: DoWhy's refuters need a ``CausalEstimator`` object, and DoWhy 0.14 sets the state
they read back (effect modifiers, target units) only inside its own estimator classes' ``fit``,
so a subclass of one of them remains: subclassing the bare ``CausalEstimator`` instead would
mean setting that private state ourselves. If a DoWhy upgrade changes that public surface,
tests/test_matching.py fails (agreement with DoWhy's own PS matching, refuters that must move
the estimate).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd
from dowhy import CausalModel
from dowhy.causal_estimator import CausalEstimate
from dowhy.causal_estimators.propensity_score_estimator import PropensityScoreEstimator
from scipy.special import expit

from evaluations.estimators.checks import analysis_frame, one_of
from evaluations.estimators.drdid import ATTFit
from evaluations.estimators.inference import WEIGHT, survey_weights
from evaluations.estimators.nearest_neighbour import Match, matching_estimate, nn_match
from evaluations.estimators.propensity import LogitPropensityModel, require_score_overlap
from evaluations.estimators.weighting import sorted_matrix, weighted_att

PS_COLUMN = "_cg_propensity_score"  # where DoWhy's weighting estimator writes scores; never a user's column


class _ATTEstimator(PropensityScoreEstimator):
    """What our DoWhy estimators share: the ATT only, our logit score, a fresh copy for refuters.

    Each subclass provides ``att(data) -> (ATT, propensity scores)``, called after ``fit``. The
    option ``weights`` names a column of survey weights (the propensity score and the estimate use them).
    """

    def __init__(self, identified_estimand, test_significance=False, evaluate_effect_strength=False,
                 confidence_intervals=False, propensity_score_model: Optional[Any] = None, **options):
        # CausalModel passes "<package>_estimator" (the dotted path) to estimators outside DoWhy
        options = {key: v for key, v in options.items() if not key.endswith("_estimator")}
        super().__init__(identified_estimand, test_significance=test_significance,
                         evaluate_effect_strength=evaluate_effect_strength,
                         confidence_intervals=confidence_intervals,
                         propensity_score_model=propensity_score_model or LogitPropensityModel(),
                         propensity_score_column=PS_COLUMN)
        self.estimand = identified_estimand
        self.options = options
        self.requested = {"test_significance": test_significance,
                          "evaluate_effect_strength": evaluate_effect_strength,
                          "confidence_intervals": confidence_intervals}

    def get_new_estimator_object(self, identified_estimand, test_significance=False, evaluate_effect_strength=False,
                                 confidence_intervals=None):
        """An unfitted estimator of the same kind and options for `identified_estimand` (refuters call this)."""
        if confidence_intervals is None:
            confidence_intervals = self.requested["confidence_intervals"]
        return type(self)(identified_estimand, test_significance=test_significance,
                          evaluate_effect_strength=evaluate_effect_strength,
                          confidence_intervals=confidence_intervals, **self.options)

    def fit(self, data: pd.DataFrame, effect_modifier_names=None):
        super().fit(data, effect_modifier_names=effect_modifier_names)
        if self.options.get("weights"):  # DoWhy fits the score unweighted; survey weights re-fit it
            d, _ = self.arrays(data)
            self.propensity_score_model.fit(self.covariates(data), d, sample_weight=self.weights(data))
        return self

    def covariates(self, data: pd.DataFrame) -> pd.DataFrame:
        # numeric by checks.analysis_frame, so DoWhy's one-hot encoding would leave it unchanged
        return data[self.estimand.get_adjustment_set()]

    def arrays(self, data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        d = data[self.estimand.treatment_variable[0]].to_numpy().astype(int)
        y = data[self.estimand.outcome_variable[0]].to_numpy(dtype=float)
        return d, y

    def weights(self, data: pd.DataFrame) -> np.ndarray:
        """Survey weights normalised to mean 1 (ones without them)."""
        column = self.options.get("weights")
        if not column:
            return np.ones(len(data))
        w = data[column].to_numpy(dtype=float)
        return w / w.mean()

    def estimate_effect(self, data: pd.DataFrame, treatment_value: Any = 1, control_value: Any = 0,
                        target_units=None, **_):
        if target_units not in ("att", None):
            raise ValueError(f"{type(self).__name__} estimates the ATT only (target_units='att').")
        self.update_input(treatment_value, control_value, "att")
        value, ps = self.att(data)
        estimate = CausalEstimate(
            data=data,
            treatment_name=self.estimand.treatment_variable,
            outcome_name=self.estimand.outcome_variable,
            estimate=value,
            control_value=control_value,
            treatment_value=treatment_value,
            target_estimand=self.estimand,
            realized_estimand_expr=self.construct_symbolic_estimator(self.estimand),
            propensity_scores=pd.Series(ps, index=data.index),
        )
        estimate.add_estimator(self)
        return estimate

    def construct_symbolic_estimator(self, estimand):
        return "b: " + ",".join(estimand.outcome_variable) + "~" + "+".join(
            estimand.treatment_variable + sorted(estimand.get_adjustment_set()))


class PropensityScoreMatchingATT(_ATTEstimator):
    """DoWhy estimator: k-nearest-neighbour matching on the logit propensity score, with a caliper
    (in SDs of the logit score) and with or without replacement (nearest_neighbour.py). ATT only.

    ``method_params``: ``k``, ``caliper``, ``replace``. After estimating, ``match`` holds who was
    matched to whom, for the variance (matching_variance.py).
    """

    match: Optional[Match] = None

    def att(self, data):
        lp = self.propensity_score_model.decision_function(self.covariates(data))
        d, y = self.arrays(data)
        opts = {"k": 1, "caliper": 0.2, "replace": True, **self.options}
        self.match = nn_match(lp, d, int(opts["k"]), opts["caliper"], bool(opts["replace"]))
        return matching_estimate(self.match, y), expit(lp)


class _WeightingATT(_ATTEstimator):
    """An ATT from the weighting kernels (weighting.weighted_att); ``result`` keeps its influence function."""

    method: str
    result: Optional[ATTFit] = None

    def att(self, data):
        frame = self.covariates(data)
        ps = self.propensity_score_model.predict_proba(frame)[:, 1]
        d, y = self.arrays(data)
        self.result = weighted_att(y, d, sorted_matrix(frame), self.weights(data), ps, self.method)
        return self.result.att, ps


class IPWATTEstimator(_WeightingATT):
    """DoWhy estimator: inverse-probability (odds) weighting for the ATT, Hajek form, no clipping;
    without survey weights the same number as DoWhy's own ``backdoor.propensity_score_weighting``."""

    method = "ipw"

    def construct_symbolic_estimator(self, estimand):
        return super().construct_symbolic_estimator(estimand) + " (IPW, ATT)"


class AIPWATTEstimator(_WeightingATT):
    """DoWhy estimator: augmented inverse-probability weighting for the ATT, with a linear outcome
    model fitted among comparison units. Doubly robust."""

    method = "doubly_robust"

    def construct_symbolic_estimator(self, estimand):
        return super().construct_symbolic_estimator(estimand) + " (AIPW, ATT)"


_METHOD_NAME = {
    "matching": f"backdoor.{__name__}.{PropensityScoreMatchingATT.__name__}",
    "ipw": f"backdoor.{__name__}.{IPWATTEstimator.__name__}",
    "doubly_robust": f"backdoor.{__name__}.{AIPWATTEstimator.__name__}",
}
METHODS = tuple(_METHOD_NAME)  # ("matching", "ipw", "doubly_robust"): what estimate_att and refute take


def check_method(method: str) -> None:
    one_of(method, "method", METHODS)


def _method_params(method: str, k: int, caliper: Optional[float], replace: bool, weights: Optional[str]) -> dict:
    if method == "matching":
        return {"k": k, "caliper": caliper, "replace": replace, "propensity_score_model": LogitPropensityModel()}
    return {"propensity_score_model": LogitPropensityModel(), "weights": weights}


@dataclass(frozen=True)
class DoWhyFit:
    """An estimate made through DoWhy, with what the variance formulas need from the fitted estimator."""

    identified: Any  # DoWhy's IdentifiedEstimand
    estimate: Any  # DoWhy's CausalEstimate
    value: float
    propensity_model: LogitPropensityModel  # fitted on the analysis sample
    match: Optional[Match]  # matching only
    result: Optional[ATTFit]  # weighting only: the estimate with its influence function


def estimate_with_dowhy(data: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str], method: str,
                        k: int = 1, caliper: Optional[float] = 0.2, replace: bool = True,
                        weights: Optional[str] = None) -> DoWhyFit:
    """model -> identify -> estimate, on a copy of `data` (DoWhy's weighting estimator writes into its data)."""
    model = CausalModel(data=data.copy(), treatment=treatment, outcome=outcome, common_causes=list(covariates))
    identified = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    estimate = model.estimate_effect(identified, method_name=_METHOD_NAME[method], target_units="att",
                                     method_params=_method_params(method, k, caliper, replace, weights))
    if estimate.value is None or not np.isfinite(estimate.value):
        hint = (f" within the caliper of {caliper} SD of the logit propensity score; widen the caliper or revise "
                "the comparison group" if method == "matching" else "")
        raise ValueError(
            f"No overlap: the {method} estimate of the effect of {treatment!r} could not be computed "
            f"(no participant has a comparable comparison unit{hint})."
        )
    estimator = estimate.estimator
    return DoWhyFit(identified, estimate, float(estimate.value), estimator.propensity_score_model,
                    getattr(estimator, "match", None), getattr(estimator, "result", None))


def checked_fit(df: pd.DataFrame, *, outcome: str, treatment: str, covariates: list[str], method: str,
                k: int = 1, caliper: Optional[float] = 0.2, replace: bool = True,
                weights: bool = False) -> tuple[pd.DataFrame, DoWhyFit]:
    """Check the data and the overlap of the score, then fit through DoWhy: what estimate_att and refute share.

    Returns the analysis frame (checks.analysis_frame: float columns, treatment 0/1) and the fit.
    Overlap is checked on our own logit before DoWhy sees the data, so a lack of it is a named error.
    With ``weights`` the frame keeps the ``weight`` column (survey weights, inference.survey_weights).
    """
    data = analysis_frame(df, treatment=treatment, covariates=covariates, outcome=outcome,
                          reserved=(PS_COLUMN,) + ((WEIGHT,) if weights else ()))
    covariates = list(covariates)
    if weights:
        if method == "matching":
            raise ValueError("Survey weights are not available for matching (no design-based variance for "
                             "nearest-neighbour matching exists here); use method='doubly_robust' or 'ipw'.")
        data[WEIGHT] = survey_weights(df, outcome)
    d = data[treatment].to_numpy().astype(int)
    score = LogitPropensityModel().fit(data[covariates], d, data[WEIGHT] if weights else None)
    require_score_overlap(score.decision_function(data[covariates]), d, treatment, weighting=method != "matching")
    return data, estimate_with_dowhy(data, outcome=outcome, treatment=treatment, covariates=covariates,
                                     method=method, k=k, caliper=caliper, replace=replace,
                                     weights=WEIGHT if weights else None)


@dataclass(frozen=True)
class RefuterResult:
    name: str  # "placebo treatment", "random common cause", "data subset"
    original_effect: float
    new_effect: float
    p_value: float  # DoWhy's own significance test of the refutation


def refute_with_dowhy(data: pd.DataFrame, fit: DoWhyFit, *, outcome: str, treatment: str, covariates: list[str],
                      seed: int, num_simulations: int) -> tuple[RefuterResult, ...]:
    """DoWhy's placebo-treatment, random-common-cause and data-subset refuters of `fit`, seeded.

    They run on a model holding an untouched copy of the data: refuters fed data into which
    DoWhy's weighting estimator had written its scores would silently re-use the old scores.
    """
    model = CausalModel(data=data.copy(), treatment=treatment, outcome=outcome, common_causes=list(covariates))
    runs = (
        ("placebo treatment", "placebo_treatment_refuter", {"placebo_type": "permute"}, seed),
        ("random common cause", "random_common_cause", {}, seed + 1),
        ("data subset", "data_subset_refuter", {"subset_fraction": 0.8}, seed + 2),
    )
    out = []
    for name, refuter, options, run_seed in runs:
        res = model.refute_estimate(fit.identified, fit.estimate, method_name=refuter, num_simulations=num_simulations,
                                    random_state=np.random.RandomState(run_seed), n_jobs=1, **options)
        out.append(RefuterResult(name, float(res.estimated_effect), float(res.new_effect),
                                 float(res.refutation_result["p_value"])))
    return tuple(out)
