"""A randomised controlled trial: chance decided who took part."""
from evaluations.designs.base import TWO_WAVE_ESTIMATORS
from evaluations.designs.two_wave import TwoWavePanel
from evaluations.registry import Estimator


class Trial(TwoWavePanel):
    key = "rct"
    name = "Randomised controlled trial"
    padlocks, padlock_words = 5, "a randomised controlled trial"
    sms_level, sms_words = 5, "random assignment to the programme"
    default_estimator = Estimator.ancova  # follow-up on baseline score and covariates; DiM when no baseline
    allowed_estimators = TWO_WAVE_ESTIMATORS
    judges_baseline_balance = False  # chance imbalance is not bias; ANCOVA adjusts for it
    rests_on_covariates = False  # chance decided who took part: no hidden difference can be confounding
