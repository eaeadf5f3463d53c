"""Matched or doubly robust difference-in-differences on a linked panel: the comparison group is
re-weighted to resemble participants before their changes are compared (Sant'Anna & Zhao 2020)."""
from evaluations.designs.base import TWO_WAVE_ESTIMATORS
from evaluations.designs.two_wave import TwoWavePanel
from evaluations.registry import Estimator


class MatchedDiD(TwoWavePanel):
    key = "matched_did"
    name = ("Comparison group made comparable on baseline characteristics, before and after "
            "(doubly robust difference-in-differences)")
    padlocks = 4
    padlock_words = ("a comparison group made comparable on baseline characteristics, compared over time "
                     "(matched or doubly robust difference-in-differences)")
    sms_level, sms_words = 4, "before and after, against a comparison group matched on observed characteristics"
    default_estimator = Estimator.doubly_robust_did
    allowed_estimators = TWO_WAVE_ESTIMATORS
    reweights_comparison = True
    rests_on_overlap = True
    refuted = True
