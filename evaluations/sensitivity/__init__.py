"""Sensitivity of an effect to what the data cannot show: how strong unmeasured confounding would
have to be to explain it away. evalue.py (E-values, VanderWeele & Ding) and robustness_value.py
(Cinelli & Hazlett's robustness values and benchmarks) hold the formulas; hidden_bias.py reads one
published effect with them, for the designs that rest on covariates. honest_did.py holds Rambachan &
Roth's bounds for event studies: how far the groups' trends could drift apart after the programme,
relative to the drift seen before it, before the effect could be zero."""
