"""Plain JSON values from what pandas and numpy hand over, before a model validates them."""
from __future__ import annotations

import math

import numpy as np


def clean(value):
    """JSON-ready: numpy scalars to Python, NaN and infinity to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
