"""Sensitivity of an effect to what the data cannot show: how strong unmeasured confounding would
have to be to explain it away (evalue.py)."""
