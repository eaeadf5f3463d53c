"""Difference-in-differences on a linked panel: the same people before and after, against a comparison group."""
from evaluations.designs.base import TWO_WAVE_ESTIMATORS
from evaluations.designs.two_wave import TwoWavePanel
from evaluations.registry import Estimator


class PanelDiD(TwoWavePanel):
    key = "did"
    name = "Comparison group, before and after (difference-in-differences)"
    padlocks, padlock_words = 4, "a comparison group compared over time (difference-in-differences)"
    sms_level, sms_words = 3, "before and after, against a comparison group"
    default_estimator = Estimator.did  # regression of each person's change, covariate-adjusted
    allowed_estimators = TWO_WAVE_ESTIMATORS
