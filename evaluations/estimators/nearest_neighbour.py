"""Nearest-neighbour matching on the logit of the propensity score, for the ATT.

``k`` comparison units per participant, with or without replacement, with a caliper in
standard deviations of the logit score. Hand-written because DoWhy 0.14's
``backdoor.propensity_score_matching`` has neither a caliper nor ``k`` (it takes the single
nearest neighbour on the probability scale; with k=1, no caliper and that scale the two agree,
tests/test_matching.py) and the reference implementations (MatchIt, Matching) are R packages.
Ties are kept: every comparison unit exactly as close as the k-th nearest one is used, with
the weight shared (as in Abadie et al.'s ``nnmatch`` and R's ``Matching``). Without
replacement the matching is greedy, highest score first (MatchIt's default order).

Works on positions in arrays, not row labels; matched_sample (matching.py)
turns a `Match` into labelled weights.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from evaluations.estimators.checks import whole_number


@dataclass(frozen=True)
class Match:
    """Who was matched to whom (positions in the sample)."""

    t_pos: np.ndarray  # positions of participants
    c_pos: np.ndarray  # positions of comparison units
    pair_t: np.ndarray  # index into t_pos, one per match
    pair_c: np.ndarray  # position of the matched comparison unit
    pair_w: np.ndarray  # weight of that match (1 / number of matches of that participant)
    matched: np.ndarray  # bool per participant (len t_pos): False when the caliper left none
    caliper_width: Optional[float]  # caliper in logit units, None without a caliper

    def unit_weights(self, n: int) -> np.ndarray:
        """Per sample position: how many participants each comparison unit stands in for (K_j / M)."""
        return np.bincount(self.pair_c, weights=self.pair_w, minlength=n)


def check_spec(k: int, caliper: Optional[float]) -> None:
    """`k` a positive whole number, `caliper` positive or None."""
    whole_number(k, "k", 1, "a positive whole number of matches")
    if caliper is not None and not caliper > 0:
        raise ValueError(f"caliper must be positive (SDs of the logit propensity score) or None, got {caliper!r}.")


def _kth_distance(sorted_vals: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each x to its k-th nearest value in sorted_vals (1-D, vectorised)."""
    n = len(sorted_vals)
    pos = np.searchsorted(sorted_vals, x)
    offs = np.arange(-k, k)
    cand = pos[:, None] + offs[None, :]
    valid = (cand >= 0) & (cand < n)
    vals = sorted_vals[np.clip(cand, 0, n - 1)]
    dist = np.where(valid, np.abs(vals - x[:, None]), np.inf)
    return np.partition(dist, k - 1, axis=1)[:, k - 1]


def nn_match(lp: np.ndarray, d: np.ndarray, k: int, caliper: Optional[float], replace: bool) -> Match:
    """Match each participant (d == 1) to its k nearest comparison units on the score `lp`."""
    t_pos = np.flatnonzero(d == 1)
    c_pos = np.flatnonzero(d == 0)
    caliper_width = None if caliper is None else float(caliper) * float(np.std(lp, ddof=1))
    order = np.argsort(lp[c_pos], kind="stable")
    s = lp[c_pos][order]
    c_sorted = c_pos[order]
    x = lp[t_pos]
    n1, n0 = len(t_pos), len(c_pos)
    if replace:
        kk = min(k, n0)
        dk = _kth_distance(s, x, kk)
        r = dk + 1e-10 * (1.0 + np.abs(x))  # keep exact ties with the k-th neighbour
        if caliper_width is not None:
            r = np.minimum(r, caliper_width)
        lo = np.searchsorted(s, x - r, side="left")
        hi = np.searchsorted(s, x + r, side="right")
        counts = np.maximum(hi - lo, 0)
        total = int(counts.sum())
        pair_t = np.repeat(np.arange(n1), counts)
        starts = np.repeat(lo, counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        pair_c = c_sorted[starts + within]
        pair_w = 1.0 / np.repeat(counts, counts).astype(float)
        matched = counts > 0
    else:
        available = np.ones(n0, dtype=bool)
        pt, pc, pw = [], [], []
        matched = np.zeros(n1, dtype=bool)
        limit = np.inf if caliper_width is None else caliper_width
        for i in np.argsort(-x, kind="stable"):  # greedy, highest propensity score first
            xi = x[i]
            pos = int(np.searchsorted(s, xi))
            left, right = pos - 1, pos
            chosen = []
            while len(chosen) < k:
                while left >= 0 and not available[left]:
                    left -= 1
                while right < n0 and not available[right]:
                    right += 1
                dl = xi - s[left] if left >= 0 else np.inf
                dr = s[right] - xi if right < n0 else np.inf
                if min(dl, dr) > limit or (dl == np.inf and dr == np.inf):
                    break
                if dl <= dr:
                    chosen.append(left)
                    available[left] = False
                    left -= 1
                else:
                    chosen.append(right)
                    available[right] = False
                    right += 1
            if chosen:
                matched[i] = True
                pt.extend([i] * len(chosen))
                pc.extend(c_sorted[chosen].tolist())
                pw.extend([1.0 / len(chosen)] * len(chosen))
        order_pairs = np.lexsort((np.asarray(pc, dtype=int), np.asarray(pt, dtype=int))) if pt else np.array([], int)
        pair_t = np.asarray(pt, dtype=int)[order_pairs]
        pair_c = np.asarray(pc, dtype=int)[order_pairs]
        pair_w = np.asarray(pw, dtype=float)[order_pairs]
    return Match(t_pos, c_pos, pair_t, pair_c, pair_w, matched, caliper_width)


def imputed_y0(m: Match, y: np.ndarray) -> np.ndarray:
    """Each participant's matched counterfactual: the weighted mean outcome of its matches."""
    return np.bincount(m.pair_t, weights=m.pair_w * y[m.pair_c], minlength=len(m.t_pos))


def matching_estimate(m: Match, y: np.ndarray) -> float:
    """ATT over the matched participants (NaN when the caliper left none)."""
    if not m.matched.any():
        return math.nan
    y0 = imputed_y0(m, y)
    return float(np.mean(y[m.t_pos][m.matched] - y0[m.matched]))
