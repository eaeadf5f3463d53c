"""Parity with reference implementations: the comparisons the test suite makes, as one table for the book.

Each check runs one of our estimators on a data set a reference implementation ships (tests/data,
or a package's bundled data) and compares with the reference's printed output. tests/test_parity.py
asserts that every comparison agrees to the reference's printed precision (half a unit in its last
printed digit) and that book/parity.md, the table the methods chapter includes, is exactly what
these checks produce now. After changing an estimator, regenerate the table with

    .venv/bin/python -m tests.parity

The reference numbers and their sources are the ones the estimator tests cite (test_staggered.py,
test_did.py, test_cross_sections.py, test_weights.py, test_evalue.py, test_synthesis.py,
test_honest_did.py, test_multiplicity.py, test_lee_bounds.py); they are imported from there, so each is written once.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
TABLE = REPO / "book" / "parity.md"


@dataclass(frozen=True)
class Comparison:
    statistic: str
    ours: float
    reference: float
    printed: str  # the reference as printed, which fixes its precision

    @property
    def allowed(self) -> float:
        """Half a unit in the last printed digit: what 'agrees to the printed precision' means."""
        return 0.5 * 10 ** Decimal(self.printed).as_tuple().exponent

    @property
    def difference(self) -> float:
        return abs(self.ours - self.reference)


@dataclass(frozen=True)
class Check:
    estimator: str
    reference: str
    dataset: str
    comparisons: tuple[Comparison, ...]

    @property
    def largest(self) -> Comparison:
        return max(self.comparisons, key=lambda c: c.difference / c.allowed)


def _c(statistic: str, ours: float, printed) -> Comparison:
    text = printed if isinstance(printed, str) else repr(printed)
    return Comparison(statistic, float(ours), float(text), text)


def _sig(value: float, digits: int = 7) -> str:
    """How Stata's %9.0g prints a number: `digits` significant digits."""
    return f"{value:.{digits}g}"


# --------------------------------------------------------------------------- checks


def callaway_santanna() -> Check:
    from evaluations.estimators.staggered import callaway_santanna as cs
    from tests.test_staggered import COLS, MPDTA, R_DYNAMIC, R_GROUP, R_GROUP_TIME, R_SIMPLE

    fit = cs(pd.read_csv(MPDTA), **COLS)
    out = [_c(f"ATT({c.group},{c.time})", c.att, f"{R_GROUP_TIME[(c.group, c.time)][0]:.4f}") for c in fit.group_time]
    out.append(_c("simple ATT", fit.simple.estimate, f"{R_SIMPLE[0]:.4f}"))
    out += [_c(f"event time {a.label}", a.estimate, f"{R_DYNAMIC[a.label][0]:.4f}") for a in fit.by_event_time]
    out += [_c(f"cohort {a.label}", a.estimate, f"{R_GROUP[a.label][0]:.4f}") for a in fit.by_group]
    out.append(_c("pre-trend test p", fit.pre_trend_test.p_value, "0.16812"))
    return Check("Callaway–Sant'Anna group-time effects and aggregations", "R did 2.5.1 (printed output)",
                 "mpdta (R did)", tuple(out))


def callaway_santanna_covariates() -> Check:
    from evaluations.estimators.staggered import callaway_santanna as cs
    from tests.test_staggered import COLS, MD_LPOP, MPDTA, R_LPOP_DR_ATT

    fit = cs(pd.read_csv(MPDTA), **COLS, covariates=["lpop"], est_method="dr")
    out = [_c(f"ATT({c.group},{c.time})", c.att, f"{R_LPOP_DR_ATT[(c.group, c.time)]:.4f}") for c in fit.group_time]
    out.append(_c("pre-trend test p", fit.pre_trend_test.p_value, "0.23267"))
    ref = MD_LPOP["dr"]
    out.append(_c("simple ATT", fit.simple.estimate, f"{ref['simple'][0]:.10f}"))
    out.append(_c("simple ATT SE", fit.simple.std_error, f"{ref['simple'][1]:.10f}"))
    for kind, ours in (("dynamic", fit.by_event_time), ("group", fit.by_group), ("calendar", fit.by_calendar_time)):
        for a in ours:
            est, se = ref[kind][a.label]
            out += [_c(f"{kind} {a.label}", a.estimate, f"{est:.10f}"), _c(f"{kind} {a.label} SE", a.std_error,
                                                                          f"{se:.10f}")]
    return Check("Callaway–Sant'Anna, doubly robust on a covariate (lpop)",
                 "R did 2.5.1 (ATT(g,t), pre-test); moderndid 0.2.0 (aggregations, analytic SEs)",
                 "mpdta (R did)", tuple(out))


def drdid_panel() -> Check:
    from evaluations.estimators import drdid
    from evaluations.estimators.inference import influence_se
    from tests.test_did import LALONDE_COVARIATES, STATA_LALONDE_PANEL, load_lalonde_panel

    df = load_lalonde_panel()
    x = np.column_stack([np.ones(len(df))] + [df[c].to_numpy(float) for c in LALONDE_COVARIATES])
    out = []
    for method, name in (("dr", "doubly robust"), ("reg", "outcome regression"), ("ipw", "standardised IPW")):
        fit = drdid.estimate((df.y1 - df.y0).to_numpy(float), df.treated.to_numpy(float), x, np.ones(len(df)), method)
        att, se = STATA_LALONDE_PANEL[method]
        out += [_c(f"{name} ATT", fit.att, _sig(att)), _c(f"{name} SE", influence_se(fit.influence)[0], _sig(se))]
    return Check("Two-period DiD on a linked panel: doubly robust, outcome regression, IPW (Sant'Anna & Zhao)",
                 "Stata drdid (the R DRDID estimators drdid_panel, reg_did_panel, std_ipw_did_panel)",
                 "LaLonde NSW–CPS panel (R DRDID's nsw_long)", tuple(out))


def drdid_repeated_cross_sections() -> Check:
    from evaluations.estimators.cross_sections import did_repeated_cross_sections, doubly_robust_did_rcs
    from tests.test_cross_sections import (LALONDE_COVARIATES, R_DOCS_TWFE_SIM_RC, SIM_RC_COVARIATES, STATA_LALONDE_RC,
                                           STATA_SIM_RC, load_lalonde_cross_sections, load_sim_rc)

    sim, lalonde = load_sim_rc(), load_lalonde_cross_sections()
    a = doubly_robust_did_rcs(sim, outcome="y", covariates=SIM_RC_COVARIATES)
    b = doubly_robust_did_rcs(lalonde, outcome="re", covariates=LALONDE_COVARIATES)
    r = did_repeated_cross_sections(sim, outcome="y", covariates=SIM_RC_COVARIATES)
    n, k = len(sim), 4 + len(SIM_RC_COVARIATES)
    return Check("DiD on repeated cross-sections: doubly robust (Sant'Anna & Zhao) and regression",
                 "Stata drdid (dripw = R DRDID drdid_rc); R DRDID twfe_did_rc",
                 "R DRDID's sim_rc; LaLonde NSW–CPS as cross-sections", (
                     _c("sim_rc doubly robust ATT", a.estimate, _sig(STATA_SIM_RC["att"])),
                     _c("sim_rc doubly robust SE", a.std_error, _sig(STATA_SIM_RC["se"])),
                     _c("LaLonde doubly robust ATT", b.estimate, _sig(STATA_LALONDE_RC["att"])),
                     _c("LaLonde doubly robust SE", b.std_error, _sig(STATA_LALONDE_RC["se"])),
                     _c("sim_rc regression ATT", r.estimate, _sig(R_DOCS_TWFE_SIM_RC["att"])),
                     # DRDID's SE is sqrt(HC0 n/(n-1)); ours HC1 = sqrt(HC0 n/(n-k))
                     _c("sim_rc regression SE (DRDID's n-1)", r.std_error * math.sqrt((n - k) / (n - 1)),
                        _sig(R_DOCS_TWFE_SIM_RC["se"]))))


def survey_regression() -> Check:
    from evaluations.estimators.inference import cluster_codes, regression

    d = pd.read_csv(DATA / "apiclus2.csv")
    published = {"const": ("811.4907", "30.8795"), "ell": ("-2.0592", "1.4075"), "meals": ("-1.7772", "1.1053"),
                 "mobility": ("0.3253", "0.5305")}
    out = []
    for term, (coef, se) in published.items():
        c = regression(d.api00, d[["ell", "meals", "mobility"]], term, weights=d.pw, clusters=cluster_codes(d.dnum))
        out += [_c(f"{term}", c.estimate, coef),
                # statsmodels' CR1 carries (n-1)/(n-k) that svyglm does not
                _c(f"{term} SE (svyglm's convention)", c.std_error * math.sqrt((len(d) - 4) / (len(d) - 1)), se)]
    return Check("Survey-weighted, cluster-robust regression (design-based standard errors)",
                 "R survey 4.5 svyglm (two-stage cluster design)", "apiclus2 (R survey)", tuple(out))


def evalues() -> Check:
    from evaluations.sensitivity.evalue import mean_difference_evalue, risk_ratio_evalue

    leuk, smoke, md = risk_ratio_evalue(0.80, 0.71, 0.91), risk_ratio_evalue(10.73, 8.02, 14.36), \
        mean_difference_evalue(0.5, 0.25)
    return Check("E-values for unmeasured confounding", "VanderWeele & Ding (2017); R EValue (evalues.MD)",
                 "the published examples", (
                     _c("RR 0.80 (0.71-0.91): point", leuk.point, "1.81"), _c("RR 0.80: limit", leuk.limit, "1.43"),
                     _c("RR 10.73 (8.02-14.36): point", smoke.point, "20.95"),
                     _c("RR 10.73: limit", smoke.limit, "15.52"),
                     _c("d 0.5, SE 0.25: RR", md.rr, "1.576173"), _c("d 0.5, SE 0.25: lower RR", md.rr_low, "1.010050")))


def robustness_values() -> Check:
    from evaluations.sensitivity.robustness_value import adjusted, benchmark_bounds, partial_r2, robustness_value
    from tests.test_robustness_value import DARFUR_SUMMARY, DOF, ESTIMATE, R2DXJ_FEMALE, R2YXJ_FEMALE, SE, T

    out = [_c("partial R² of the treatment", partial_r2(T, DOF), "0.02187309"),
           _c("robustness value", robustness_value(T, DOF), "0.13878"),
           _c("robustness value, alpha 0.05", robustness_value(T, DOF, alpha=0.05), "0.07626")]
    for kd, *printed in DARFUR_SUMMARY:
        r2dz, r2yz = benchmark_bounds(R2DXJ_FEMALE, R2YXJ_FEMALE, kd)
        a = adjusted(ESTIMATE, SE, DOF, r2dz, r2yz)
        out += [_c(f"{kd}x female: adjusted estimate", a.estimate, f"{printed[2]:.4f}"),
                _c(f"{kd}x female: adjusted SE", a.std_error, f"{printed[3]:.4f}")]
    return Check("Cinelli–Hazlett robustness value and benchmark bounds", "R sensemakr 0.1.6 (printed summary)",
                 "darfur (sensemakr), from its printed regression statistics", tuple(out))


def meta_analysis() -> Check:
    from evaluations.synthesis import pool, random_effects
    from tests.test_synthesis import _bcg

    m = random_effects(*_bcg())
    hk = pool(*_bcg(), tau2=0.3132)  # metafor's README: rma(yi, vi, data=dat, test="knha"), REML tau^2
    return Check("Random-effects meta-analysis (DerSimonian–Laird; Hartung–Knapp–Sidik–Jonkman interval)",
                 "R metafor rma(method = \"DL\"); rma(test = \"knha\") in metafor's README",
                 "BCG vaccine trials (metafor's dat.bcg)", (
                     _c("DL pooled log RR", m.estimate, "-0.7141"), _c("DL tau²", m.tau2, "0.3088"),
                     _c("I² (%)", m.i2, "92.1173"), _c("Q", m.q, "152.2330"),
                     _c("Hartung–Knapp estimate", hk.estimate, "-0.7145"), _c("Hartung–Knapp SE", hk.std_error, "0.1808"),
                     _c("Hartung–Knapp interval, lower", hk.ci_low, "-1.1084"),
                     _c("Hartung–Knapp interval, upper", hk.ci_high, "-0.3206")))


def dowhy_estimators() -> Check:
    """Our matching and weighting kernels against DoWhy's own estimators on the same score. Matching is
    compared on the tests' simulated data: on NSW–CPS thousands of comparison scores tie near 0, and the
    two implementations break ties differently."""
    from dowhy import CausalModel

    from evaluations.estimators.matching import LogitPropensityModel, estimate_att
    from evaluations.estimators.nearest_neighbour import matching_estimate, nn_match
    from tests.test_matching import DW_CPS, SIM_COVS, load_nsw, simulate, with_cps_comparison

    def dowhy(df, treatment, outcome, covariates, method, params):
        model = CausalModel(data=df.copy(), treatment=treatment, outcome=outcome, common_causes=covariates)
        ident = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
        return model.estimate_effect(ident, method_name=method, target_units="att",
                                     method_params={"propensity_score_model": LogitPropensityModel(), **params}).value

    sim = simulate()
    psm = dowhy(sim, "d", "y", SIM_COVS, "backdoor.propensity_score_matching", {})
    ps = LogitPropensityModel().fit(sim[SIM_COVS], sim.d).predict_proba(sim[SIM_COVS])[:, 1]
    ours_psm = matching_estimate(nn_match(ps, sim.d.to_numpy(), 1, None, True), sim.y.to_numpy())
    df = with_cps_comparison(load_nsw())
    ipw = dowhy(df, "treat", "re78", DW_CPS, "backdoor.propensity_score_weighting",
                {"weighting_scheme": "ips_weight", "min_ps_score": 0.0, "max_ps_score": 1.0})
    ours_ipw = estimate_att(df, outcome="re78", treatment="treat", covariates=DW_CPS, method="ipw").estimate
    return Check("Propensity-score matching (1:1, no caliper) and inverse-probability weighting for the ATT",
                 "DoWhy 0.14 backdoor.propensity_score_matching / propensity_score_weighting (same logit score), "
                 "in the same run, to 6 decimals",
                 "simulated selection on observables, 3,000 people (matching); NSW treated against the CPS "
                 "comparison group (IPW)", (
                     _c("matching ATT", ours_psm, f"{psm:.6f}"), _c("IPW ATT ($)", ours_ipw, f"{ipw:.6f}")))


def romano_wolf() -> Check:
    from tests.test_multiplicity import pyfixest_romano_wolf

    ours, theirs = pyfixest_romano_wolf()
    out = [_c(f"adjusted p, fit {i + 1}", o, f"{t:.6f}") for i, (o, t) in enumerate(zip(ours, theirs))]
    return Check("Romano–Wolf step-down adjusted p-values (secondary outcomes)",
                 "pyfixest 0.60 rwolf on its own wild-bootstrap draws, in the same run, to 6 decimals",
                 "pyfixest's simulated data (get_data), four regressions, 999 draws", tuple(out))


def honest_did() -> Check:
    from evaluations.sensitivity import honest_did as hd
    from tests.test_honest_did import _load

    case = _load("medicaid_event_study.json")
    first = case["first_period"]
    study = hd.EventStudy.of(case["betahat"], case["sigma"], case["n_pre"])
    out = []
    for r, mbar, lb, ub in zip(hd.sensitivity(study, first["mbar"]), first["mbar"], first["printed_lb"],
                               first["printed_ub"]):
        out += [_c(f"Medicaid, Mbar {mbar}: lower", r.lower, lb), _c(f"Medicaid, Mbar {mbar}: upper", r.upper, ub)]
    bc = _load("bc_event_study.json")
    study = hd.EventStudy.of(bc["betahat"], bc["sigma"], bc["n_pre"])
    sd = study.sd_theta()
    for mbar, r_lb, r_ub in zip(bc["mbar"], bc["r_lb"], bc["r_ub"]):
        r = hd.robust_interval(study, mbar, grid_lb=-20 * sd, grid_ub=20 * sd)
        out += [_c(f"BC, Mbar {mbar}: lower", r.lower, _sig(r_lb, 10)), _c(f"BC, Mbar {mbar}: upper", r.upper, _sig(r_ub, 10))]
    return Check("Relative-magnitudes bounds for event studies (Rambachan & Roth; C-LF)",
                 "R HonestDiD (README printed table; bundled example's output)",
                 "Medicaid expansion (HonestDiD README); BCdata_EventStudy (HonestDiD)", tuple(out))


def lee_bounds() -> Check:
    from evaluations.diagnostics.lee_bounds import lee_bounds as bounds
    from tests.test_lee_bounds import STATA_THORNTON, stata_divisor_gap, thornton

    y, t, s = thornton()
    b = bounds(y, t, s)
    gap = stata_divisor_gap(y, t, s)  # our SE divides the untrimmed group's variance by n, Stata's by n - 1
    return Check("Lee (2009) trimming bounds for attrition", "Stata leebounds (Tauchmann 2014), printed in a "
                 "course tutorial; standard errors compared with Stata's n − 1 divisor", "Thornton (2008) "
                 "condom purchase, from the printed counts", (
                     _c("trimming share", b.sharp_share, STATA_THORNTON["share"]),
                     _c("lower bound", b.lower, STATA_THORNTON["lower"]),
                     _c("upper bound", b.upper, STATA_THORNTON["upper"]),
                     _c("lower-bound SE", math.sqrt(b.se_lower ** 2 + gap), STATA_THORNTON["se_lower"]),
                     _c("upper-bound SE", math.sqrt(b.se_upper ** 2 + gap), STATA_THORNTON["se_upper"])))


CHECKS = (callaway_santanna, callaway_santanna_covariates, drdid_panel, drdid_repeated_cross_sections,
          survey_regression, dowhy_estimators, evalues, robustness_values, meta_analysis, honest_did,
          romano_wolf, lee_bounds)


# --------------------------------------------------------------------------- the book's table


def _figure(x: float) -> str:
    if x == 0:
        return "0"
    return f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e+")


def table(checks: list[Check]) -> str:
    lines = ["| Estimator | Reference implementation | Data | Statistics compared | Largest difference "
             "(allowed by the printed precision) |", "|:---|:---|:---|---:|:---|"]
    for check in checks:
        worst = check.largest
        lines.append(f"| {check.estimator} | {check.reference} | {check.dataset} | {len(check.comparisons)} | "
                     f"{_figure(worst.difference)} ({_figure(worst.allowed)}, {worst.statistic}) |")
    return ("<!-- Generated by `.venv/bin/python -m tests.parity` from the test suite's reference checks "
            "(tests/parity.py); tests/test_parity.py fails when it is out of date. -->\n\n" + "\n".join(lines) + "\n")


def main() -> int:
    checks = [check() for check in CHECKS]
    failing = [(k.estimator, c.statistic) for k in checks for c in k.comparisons if c.difference > c.allowed]
    if failing:
        print(f"not written: {len(failing)} comparison(s) disagree with the reference, e.g. {failing[:3]}")
        return 1
    TABLE.write_text(table(checks), encoding="utf-8")
    print(f"wrote {TABLE.relative_to(REPO)}: {len(checks)} checks, "
          f"{sum(len(k.comparisons) for k in checks)} comparisons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
