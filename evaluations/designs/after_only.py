"""A comparison group observed after the programme only, made comparable on observed characteristics."""
from evaluations.designs.base import TWO_WAVE_ESTIMATORS
from evaluations.designs.two_wave import TwoWavePanel
from evaluations.registry import Estimator


class AfterOnly(TwoWavePanel):
    key = "matching"
    name = "Matched comparison group, after only"
    padlocks, padlock_words = 3, "a matched comparison group observed only after the programme"
    sms_level, sms_words = 3, "against a comparison group, controlling for observed characteristics"
    default_estimator = Estimator.ps_matching  # 1:1 nearest neighbour on the propensity score, Abadie-Imbens SEs
    allowed_estimators = TWO_WAVE_ESTIMATORS
    rests_on_overlap = True
    refuted = True
