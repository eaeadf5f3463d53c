"""Attrition: who answered at baseline but not at follow-up, and whether that differs by group."""
from __future__ import annotations

import numpy as np
import pandas as pd

from evaluations.registry import Manifest


def attrition(panel: pd.DataFrame, manifest: Manifest) -> dict:
    """Baseline without follow-up, follow-up without baseline, per group.

    With different people in each wave (a repeated cross-section) nobody is followed up, so the
    counts per wave are kept and the rates are not defined (NaN, `applies` False).
    """
    from evaluations.designs import design_of

    linked = design_of(manifest.design).linked_waves
    base, follow = 1, len(manifest.design.wave_labels)
    out = {}
    for name, g in (("programme", 1), ("comparison", 0)):
        units = panel[panel["treated"] == g]
        at_base = set(units.loc[units["period"] == base, "unit"])
        at_follow = set(units.loc[units["period"] == follow, "unit"])
        n_base = len(at_base)
        out[name] = {
            "baseline": n_base,
            "follow_up": len(at_follow),
            "both": len(at_base & at_follow),
            "baseline_only": len(at_base - at_follow),
            "follow_up_only": len(at_follow - at_base),
            "attrition_rate": (len(at_base - at_follow) / n_base) if n_base and linked else np.nan,
        }
    rates = [out[k]["attrition_rate"] for k in ("programme", "comparison")]
    total_base = out["programme"]["baseline"] + out["comparison"]["baseline"]
    lost = out["programme"]["baseline_only"] + out["comparison"]["baseline_only"]
    out["overall_attrition"] = lost / total_base if total_base and linked else np.nan
    out["applies"] = linked
    out["differential_attrition"] = abs(rates[0] - rates[1]) if all(np.isfinite(rates)) else np.nan
    return out
