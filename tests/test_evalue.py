"""E-values against the published examples: VanderWeele & Ding (2017, Annals of Internal Medicine)
and the R package EValue's documentation (evalues.RR, evalues.MD), to their printed precision."""
import math

import pytest

from evaluations.sensitivity.evalue import mean_difference_evalue, risk_ratio_evalue, standardised_effect_evalue


def test_leukaemia_example_a_protective_risk_ratio():
    # VanderWeele & Ding's example: RR 0.80 (0.71 to 0.91); E-values 1.81 and 1.43
    e = risk_ratio_evalue(0.80, 0.71, 0.91)
    assert round(e.point, 2) == 1.81 and round(e.limit, 2) == 1.43


def test_smoking_and_lung_cancer_hammond_and_horn():
    # VanderWeele & Ding's smoking example: RR 10.73 (8.02 to 14.36); E-values 20.95 and 15.52
    e = risk_ratio_evalue(10.73, 8.02, 14.36)
    assert round(e.point, 2) == 20.95 and round(e.limit, 2) == 15.52


def test_an_interval_that_includes_no_effect_has_an_e_value_of_one():
    assert risk_ratio_evalue(1.3, 0.9, 1.8).limit == 1.0
    assert risk_ratio_evalue(0.8, 0.6, 1.05).limit == 1.0


def test_symmetry_a_risk_ratio_and_its_inverse_need_the_same_confounding():
    assert math.isclose(risk_ratio_evalue(0.80).point, risk_ratio_evalue(1 / 0.80).point)


def test_cohens_d_of_a_half_with_se_a_quarter():
    # EValue's evalues.MD(.5, .25) example: RR exp(0.455) = 1.576173, lower exp(0.01) = 1.010050
    e = mean_difference_evalue(0.5, 0.25)
    assert round(e.rr, 6) == 1.576173 and round(e.rr_low, 6) == 1.010050
    assert round(e.point, 4) == 2.5291  # by hand: 1.576173 + sqrt(1.576173 x 0.576173)
    assert round(e.limit, 4) == 1.1108  # by hand: 1.010050 + sqrt(1.010050 x 0.010050)


def test_a_negative_effect_uses_the_upper_limit():
    e = mean_difference_evalue(-0.5, 0.25)
    assert math.isclose(e.point, mean_difference_evalue(0.5, 0.25).point)
    assert math.isclose(e.limit, mean_difference_evalue(0.5, 0.25).limit)


def test_estimate_outside_its_interval_is_refused():
    with pytest.raises(ValueError):
        risk_ratio_evalue(2.0, 2.5, 3.0)


def test_a_standardised_effect_with_its_own_interval():
    # EValue's evalues.MD(.5, .25) is the interval d -/+ (1.78 / 0.91) SE put on the risk-ratio scale
    half = 1.78 / 0.91 * 0.25
    e, md = standardised_effect_evalue(0.5, 0.5 - half, 0.5 + half), mean_difference_evalue(0.5, 0.25)
    assert math.isclose(e.point, md.point) and math.isclose(e.limit, md.limit)
    # a wider interval (t on few df, clusters) moves only the limit nearer the null, towards 1
    wide = standardised_effect_evalue(0.5, 0.5 - 2.3 * 0.25, 0.5 + 2.3 * 0.25)
    assert math.isclose(wide.point, md.point) and wide.limit == 1.0
