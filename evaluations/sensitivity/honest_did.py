"""Rambachan & Roth (2023) robust intervals for an event study under relative magnitudes.

An event study's post-programme estimates are biased by however far the two groups' trends drift
apart after the programme starts. Delta^RM(Mbar) bounds that drift: no period-to-period change in
the post-programme gap may exceed Mbar times the largest period-to-period change seen before the
programme (Rambachan & Roth, "A More Credible Approach to Parallel Trends", REStud 2023). For a
target theta = l' tau_post (the first post-programme effect by default, HonestDiD's `l_vec`), this
module returns the robust 95% confidence set for each Mbar, and the breakdown Mbar: the largest one
whose set still excludes zero.

A port of the R package HonestDiD (MIT licence, (c) 2023 HonestDiD authors: Ashesh Rambachan and
Jonathan Roth; github.com/asheshrambachan/HonestDiD, R/deltarm.R, R/arp-nuisance.R,
R/arp-nonuisance.R), method "C-LF": the conditional test of Andrews, Roth & Pakes (ARP) hybridised
with a least-favourable first stage of size alpha/10, inverted over a grid of 1,000 theta values,
for every s (the pre-period whose change is the largest) and sign, the union of the accepted sets.
Where the R code differs from itself this follows the version that printed the README's Medicaid
example (also the Stata port's, mcaceresb/stata-honestdid, MIT): the theta grid is centred on
the estimate with half-width Mbar * maxpre * sum_t t|l_t| + 20 sd(theta_hat), rather than
+- 20 sd around zero (pass grid_lb/grid_ub for the latter).

Two things differ in how, not what, is computed:
- every linear program in ARP optimises over the same polytope {lambda >= 0 : W'lambda = e1},
  W = [sd, X] (the dual of min eta s.t. y - X delta <= eta sd); with the post-period moments only
  (HonestDiD's default) it has 2 * n_post rows and n_post columns, so its vertices are enumerated
  once and each program is a maximum over them, instead of one simplex solve per grid point;
- the least-favourable critical value is simulated from R's own normal stream (set.seed(0):
  Mersenne-Twister, inversion) and mvtnorm's symmetric square root, so it equals R's.
tests/test_honest_did.py checks the README's example to its printed precision (the same grid
points as R's) and the bundled BCdata example to R's full precision. As in R, an interval's ends
are grid points: steps of about 0.04 standard errors of theta_hat.

`from_event_times` builds the input from an event study by event time, as R's honest_did for the
did package does (universal base period, reference -1), and gives no bounds where a needed
estimate was withheld by disclosure control.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

ALPHA = 0.05
GRID_POINTS = 1000
LF_SIMULATIONS = 1000  # draws for the least-favourable critical value, as R's
LF_SEED = 0
LAMBDA_TOL = 1e-6  # R's tol_lambda: a dual weight above this marks a binding moment
MAX_POST_PERIODS = 8  # C(16, 8) = 12,870 candidate vertices: the enumeration stays fast


@dataclass(frozen=True)
class RobustInterval:
    """The robust confidence set for theta at one Mbar: its lowest and highest accepted grid
    values (None when nothing is accepted), and whether it reached the grid's edge (then the
    true set is wider than shown; R warns "CI is open at one of the endpoints")."""

    mbar: float
    lower: float | None
    upper: float | None
    open_ended: bool

    def excludes_zero(self) -> bool:
        return self.lower is not None and (self.lower > 0 or self.upper < 0)


@dataclass(frozen=True)
class EventStudy:
    """Event-study coefficients, pre-periods first (the reference period, normalised to 0, left
    out), their covariance, and the target weights l on the post-periods."""

    betahat: np.ndarray
    sigma: np.ndarray
    n_pre: int
    l_vec: np.ndarray

    @classmethod
    def of(cls, betahat, sigma, n_pre: int, l_vec=None) -> "EventStudy":
        betahat = np.asarray(betahat, dtype=float).ravel()
        sigma = np.asarray(sigma, dtype=float)
        n_post = betahat.size - n_pre
        if n_pre < 1 or n_post < 1:
            raise ValueError("relative magnitudes need at least one pre-period and one post-period estimate")
        if sigma.shape != (betahat.size, betahat.size):
            raise ValueError(f"sigma is {sigma.shape}, but there are {betahat.size} coefficients")
        if not (np.isfinite(betahat).all() and np.isfinite(sigma).all()):
            raise ValueError("betahat and sigma must be finite: a suppressed or missing estimate cannot "
                             "enter the bounds")
        if n_post > MAX_POST_PERIODS:
            raise ValueError(f"{n_post} post-periods: keep at most {MAX_POST_PERIODS} (later ones only add nuisance)")
        l_vec = np.eye(n_post)[0] if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
        if l_vec.size != n_post or not l_vec.any():
            raise ValueError(f"l_vec needs {n_post} weights, not all zero (it has {l_vec.size})")
        return cls(betahat, (sigma + sigma.T) / 2, n_pre, l_vec)

    @property
    def n_post(self) -> int:
        return self.betahat.size - self.n_pre

    @property
    def post(self) -> slice:
        return slice(self.n_pre, self.betahat.size)

    def sd_theta(self) -> float:
        return float(np.sqrt(self.l_vec @ self.sigma[self.post, self.post] @ self.l_vec))

    def max_pre_change(self) -> float:
        """The largest period-to-period change among the pre-period coefficients (and 0 at t = 0)."""
        pre = self.betahat[: self.n_pre]
        return float(np.max(np.abs(np.diff(np.append(pre, 0.0))))) if self.n_pre > 1 else abs(float(pre[0]))

    def grid(self, mbar: float, points: int = GRID_POINTS) -> np.ndarray:
        centre = float(self.l_vec @ self.betahat[self.post])
        half = mbar * float(np.arange(1, self.n_post + 1) @ np.abs(self.l_vec)) * self.max_pre_change()
        half += 20 * self.sd_theta()
        return np.linspace(centre - half, centre + half, points)


REFERENCE_EVENT_TIME = -1  # the universal base period: the last wave before the programme
MIN_PRE_PERIODS = 2  # issue 11: a largest pre-programme drift needs two drifts to compare


def from_event_times(times, estimates, covariance, average: bool = False) -> EventStudy | None:
    """An event study by event time (R's honest_did.AGGTEobj): the reference period -1 (0 by
    construction under a universal base period) is dropped, the rest must be consecutive.

    Returns None where no bounds may be published: fewer than MIN_PRE_PERIODS pre-periods, or a
    needed estimate withheld (None, e.g. suppressed by evaluations/disclosure.py: the bounds are
    built from the published estimates and inherit their suppression). For the first post-period
    effect, later post-periods are only nuisance parameters, so the post-periods are cut before
    the first withheld one (and at MAX_POST_PERIODS); the average of the post-periods needs them all.
    """
    times = [int(t) for t in times]
    keep = [i for i, t in enumerate(times) if t != REFERENCE_EVENT_TIME]
    kept_times = [times[i] for i in keep]
    if not kept_times:
        return None
    expected = list(range(kept_times[0], REFERENCE_EVENT_TIME)) + list(range(0, kept_times[-1] + 1))
    if kept_times != expected:
        raise ValueError(f"event times {times} are not consecutive around the reference period {REFERENCE_EVENT_TIME}")
    n_pre = sum(t < REFERENCE_EVENT_TIME for t in kept_times)
    withheld = [estimates[i] is None or not math.isfinite(estimates[i]) for i in keep]
    n_post = len(keep) - n_pre
    if not average:
        n_post = min(withheld[n_pre:].index(True) if any(withheld[n_pre:]) else n_post, MAX_POST_PERIODS)
    if n_pre < MIN_PRE_PERIODS or n_post < 1 or any(withheld[:n_pre + n_post]) or n_post > MAX_POST_PERIODS:
        return None
    used = keep[:n_pre + n_post]
    sigma = np.asarray(covariance, dtype=float)[np.ix_(used, used)]
    l_vec = np.full(n_post, 1 / n_post) if average else None
    return EventStudy.of([estimates[i] for i in used], sigma, n_pre, l_vec)


# ------------------------------------------------------------------ R's normal draws

def r_normal_draws(n: int, seed: int = LF_SEED) -> np.ndarray:
    """`set.seed(seed); rnorm(n)` of R (Mersenne-Twister, inversion), to the last bit of its
    uniforms: R scrambles the seed with 50 LCG steps, then fills the 624-word state from the same
    LCG, and builds each normal from two uniforms (R's RNG.c and snorm.c)."""
    s = seed % 2**32
    for _ in range(50):
        s = (69069 * s + 1) % 2**32
    words = []
    for _ in range(625):
        s = (69069 * s + 1) % 2**32
        words.append(s)
    bits = np.random.MT19937()
    bits.state = {"bit_generator": "MT19937", "state": {"key": np.array(words[1:], dtype=np.uint32), "pos": 624}}
    u = bits.random_raw(2 * n).astype(float) * 2.3283064365386963e-10
    u = np.clip(u, 0.5 * 2.328306437080797e-10, 1 - 0.5 * 2.328306437080797e-10)  # R's fixup
    big = 134217728.0  # 2^27: one uniform alone is too coarse for the tails
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


def _mvnorm_draws(sigma: np.ndarray, n: int, seed: int) -> np.ndarray:
    """mvtnorm::rmvnorm(n, sigma = sigma) after set.seed(seed): standard normals, filled by row,
    times the symmetric square root of sigma (method "eigen", which does not depend on the signs
    the eigen-solver picks)."""
    values, vectors = np.linalg.eigh(sigma)
    root = (vectors * np.sqrt(np.maximum(values, 0))) @ vectors.T
    return r_normal_draws(n * len(sigma), seed).reshape(n, len(sigma)) @ root


def _r_quantile(x: np.ndarray, p: float) -> float:
    return float(np.quantile(x, p))  # numpy's default "linear" is R's type 7


# ------------------------------------------------------------------ Delta^RM constraints

def _rm_constraints(n_pre: int, n_post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """HonestDiD's .create_A_RM: A with A delta <= 0 iff every first difference of delta is at most
    the one into period s in size (Mbar times it after the programme), that one's sign fixed."""
    width = n_pre + n_post + 1  # with t = 0, dropped at the end
    first_diff = np.zeros((n_pre + n_post, width))
    for r in range(n_pre + n_post):
        first_diff[r, r:r + 2] = (-1, 1)
    largest = np.zeros(width)
    largest[n_pre + s - 1:n_pre + s + 1] = (-1, 1)
    if not max_positive:
        largest = -largest
    bound = np.vstack([np.tile(largest, (n_pre, 1)), np.tile(mbar * largest, (n_post, 1))])
    a = np.vstack([first_diff - bound, -first_diff - bound])
    a = a[np.sum(a * a, axis=1) > 1e-10]
    return np.delete(a, n_pre, axis=1)


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    """HonestDiD's .construct_Gamma: an invertible matrix with first row l'. The pivot columns of
    rref([l, I]) are l and every e_j except the last index where l is non-zero."""
    last = int(np.flatnonzero(l_vec)[-1])
    others = [e for j, e in enumerate(np.eye(len(l_vec))) if j != last]
    return np.vstack([l_vec] + others)


# ------------------------------------------------------------------ the ARP test with nuisance parameters

def _dual_vertices(w: np.ndarray) -> np.ndarray:
    """Vertices of {lambda >= 0 : w' lambda = e1}: the basic solutions with lambda >= 0."""
    m, r = w.shape
    supports = np.array(list(itertools.combinations(range(m), r)))
    blocks = np.transpose(w[supports], (0, 2, 1))  # w_S' for each support S
    scale = np.abs(w).max()
    ok = np.abs(np.linalg.det(blocks / scale)) > 1e-12
    rhs = np.broadcast_to(np.eye(r)[0], (int(ok.sum()), r))[..., None]
    weights = np.linalg.solve(blocks[ok], rhs)[..., 0]
    keep = np.all(weights >= -1e-12, axis=1)
    vertices = np.zeros((int(keep.sum()), m))
    np.put_along_axis(vertices, supports[ok][keep], np.maximum(weights[keep], 0), axis=1)
    return np.unique(np.round(vertices, 14), axis=0)


def _hybrid_rejects(values: np.ndarray, lf_cv: float, second_stage) -> np.ndarray:
    """ARP's hybrid test, shared by both tests below: a row whose largest value passes the least-favourable
    critical value is rejected; the others go, grouped by which column was largest, to
    ``second_stage(column, rows, largest)`` (the conditional test given that column)."""
    best = values.argmax(axis=1)
    largest = values[np.arange(len(values)), best]
    reject = largest > lf_cv
    for j in np.unique(best[~reject]):
        rows = np.flatnonzero(~reject & (best == j))
        reject[rows] = second_stage(j, rows, largest[rows])
    return reject


class _NuisanceTest:
    """ARP's conditional test of E[y - X delta] <= 0 for some delta, hybridised with the
    least-favourable first stage (.lp_conditional_test_fn with hybrid_flag "LF")."""

    def __init__(self, x: np.ndarray, sigma: np.ndarray, alpha: float, kappa: float, seed: int):
        self.x, self.sigma = x, sigma
        self.sd = np.sqrt(np.diag(sigma))
        self.vertices = _dual_vertices(np.column_stack([self.sd, x]))
        draws = _mvnorm_draws(sigma, LF_SIMULATIONS, seed)
        self.lf_cv = _r_quantile((draws @ self.vertices.T).max(axis=1), 1 - kappa)
        self.mod_size = (alpha - kappa) / (1 - kappa)

    def rejects(self, y: np.ndarray) -> np.ndarray:
        """y: (n_theta, m). Whether the test rejects at each row."""
        return _hybrid_rejects(y @ self.vertices.T, self.lf_cv,
                               lambda v, rows, eta: self._second_stage(self.vertices[v], y[rows], eta))

    def _second_stage(self, lam, y, eta) -> np.ndarray:
        k = self.x.shape[1]
        binding = lam > LAMBDA_TOL
        x_b = self.x[binding]
        full_rank = len(x_b) > 0 and np.linalg.matrix_rank(x_b) == min(x_b.shape)
        if binding.sum() != k + 1 or not full_rank:
            return self._dual_stage(lam, y, eta)
        m = len(lam)
        select_b, select_bc = np.eye(m)[binding], np.eye(m)[~binding]
        basis_inv = np.linalg.inv(np.column_stack([self.sd[binding], x_b]))
        gamma_b = np.column_stack([self.sd[~binding], self.x[~binding]]) @ basis_inv @ select_b - select_bc
        v_b = (basis_inv[0] @ select_b)  # = lambda: the dual vertex
        var_b = float(v_b @ self.sigma @ v_b)
        rho = gamma_b @ self.sigma @ v_b / var_b
        with np.errstate(divide="ignore", invalid="ignore"):  # rho = 0: left out below, as in R
            bound = (-(y @ gamma_b.T)) / rho + (y @ v_b)[:, None]
        vlo = bound[:, rho > 0].max(axis=1) if (rho > 0).any() else np.full(len(y), -np.inf)
        vup = bound[:, rho < 0].min(axis=1) if (rho < 0).any() else np.full(len(y), np.inf)
        return self._truncated_test(eta, math.sqrt(var_b), vlo, vup)

    def _truncated_test(self, eta, sigma_b, vlo, vup) -> np.ndarray:
        zlo, zup = np.asarray(vlo) / sigma_b, np.minimum(vup, self.lf_cv) / sigma_b
        stat = np.asarray(eta) / sigma_b
        inside = (zlo <= stat) & (stat <= zup)
        reject = np.zeros(stat.shape, dtype=bool)
        if inside.any():
            cval = np.maximum(0, _truncated_normal_quantile(1 - self.mod_size, zlo[inside], zup[inside]))
            reject[inside] = stat[inside] > cval
        return reject

    def _dual_stage(self, lam, y, eta) -> np.ndarray:
        """The degenerate case: vlo and vup by R's bisection (.vlo_vup_dual_fn), each linear
        program being a maximum over the vertices."""
        var_b = float(lam @ self.sigma @ lam)
        if abs(var_b) < np.finfo(float).eps:
            return eta > 0
        b = self.sigma @ lam / var_b
        bounds = np.array([_vlo_vup_dual(e, yi - b * float(lam @ yi), b, var_b, self.vertices)
                           for yi, e in zip(y, eta)])
        return self._truncated_test(eta, math.sqrt(var_b), bounds[:, 0], bounds[:, 1])


def _vlo_vup_dual(eta, s_t, b, var_b, vertices) -> tuple[float, float]:
    """The truncation points of eta given the dual vertex (ARP 2021, Algorithm 1): the range of c over
    which c = max_x x'(s_t + b c) stays a fixed point, by R's shortcut iterations then bisection."""
    tol_c = tol_equality = 1e-6
    sd_b = math.sqrt(var_b)
    low0, high0 = min(-100, eta - 20 * sd_b), max(100, eta + 20 * sd_b)

    def program(c):  # .check_if_solution_helper: (is c a fixed point, argmax vertex)
        values = vertices @ (s_t + b * c)
        best = int(values.argmax())
        return abs(c - values[best]) <= tol_equality, vertices[best]

    def shortcut(x):
        num = float(x @ s_t)
        num = 0.0 if abs(num) < np.finfo(float).eps ** 0.75 else num  # R's .roundeps
        with np.errstate(divide="ignore", invalid="ignore"):  # R's arithmetic: +-Inf or NaN, not an error
            return float(np.float64(num) / (1 - float(x @ b)))

    if not program(eta)[0]:
        return eta, math.inf

    def search(start, inside_is_low):
        solved, x = program(start)
        if solved:
            return math.inf if inside_is_low else -math.inf
        dif, iters, mid = 0.0, 1, shortcut(x)
        while True:
            solved, x = program(mid)
            if solved:
                break
            iters += 1
            if iters >= 10:
                dif = tol_c + 1
                break
            mid = shortcut(x)
        low, high = (eta, mid) if inside_is_low else (mid, eta)
        while dif > tol_c and iters < 10000:
            iters += 1
            mid = (low + high) / 2
            if program(mid)[0] == inside_is_low:
                low = mid
            else:
                high = mid
            dif = high - low
        return mid

    return search(low0, False), search(high0, True)


def _truncated_normal_quantile(p: float, lower, upper) -> np.ndarray:
    """TruncatedNormal::norminvp: the p-quantile of N(0, 1) truncated to [lower, upper], in log
    space on the side away from zero so that far tails keep their precision."""
    lower, upper = np.broadcast_arrays(np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))
    right = lower >= 0  # Q(q) = (1 - p) Q(lower) + p Q(upper), Q the upper tail
    log_tail = np.logaddexp(math.log1p(-p) + special.log_ndtr(-lower), math.log(p) + special.log_ndtr(-upper))
    log_cdf = np.logaddexp(math.log1p(-p) + special.log_ndtr(lower), math.log(p) + special.log_ndtr(upper))
    return np.where(right, -special.ndtri_exp(np.where(right, log_tail, -1.0)),
                    special.ndtri_exp(np.where(right, -1.0, log_cdf)))


# ------------------------------------------------------------------ the test with one post-period

class _NoNuisanceTest:
    """ARP's test without nuisance parameters (.testInIdentifiedSet_LF_Hybrid): the largest
    standardised moment, conditioned on which moment it is."""

    def __init__(self, a: np.ndarray, sigma: np.ndarray, alpha: float, kappa: float, seed: int):
        sigma_a = a @ sigma @ a.T
        scale = np.sqrt(np.diag(sigma_a))
        self.a, self.sigma = a / scale[:, None], sigma
        draws = _mvnorm_draws(sigma_a, LF_SIMULATIONS, seed) / scale
        self.lf_cv = _r_quantile(draws.max(axis=1), 1 - kappa)
        self.alpha_tilde = (alpha - kappa) / (1 - kappa)

    def rejects(self, y: np.ndarray) -> np.ndarray:
        return _hybrid_rejects(y @ self.a.T, self.lf_cv,
                               lambda j, rows, largest: self._second_stage(j, y[rows], largest))

    def _second_stage(self, j: int, y: np.ndarray, largest: np.ndarray) -> np.ndarray:
        """Given that moment j was the largest: its truncated-normal conditional test."""
        gamma = self.a[j]
        var = float(gamma @ self.sigma @ gamma)
        c = self.sigma @ gamma / var
        z = y - np.outer(y @ gamma, c)
        a_bar = self.a - gamma
        ac = a_bar @ c
        with np.errstate(divide="ignore", invalid="ignore"):  # row j: 0 / 0, left out below as R's which() does
            objective = -(z @ a_bar.T) / ac
        vlo = objective[:, ac < 0].max(axis=1) if (ac < 0).any() else np.full(len(y), -np.inf)
        vup = objective[:, ac > 0].min(axis=1) if (ac > 0).any() else np.full(len(y), np.inf)
        sd = math.sqrt(var)
        cval = np.maximum(0, sd * _truncated_normal_quantile(1 - self.alpha_tilde, vlo / sd, vup / sd))
        return largest > cval


# ------------------------------------------------------------------ the confidence set

def _accepted(study: EventStudy, mbar: float, thetas: np.ndarray, alpha: float, seed: int) -> np.ndarray:
    """Whether each theta lies in the robust set: accepted for some s and sign (computeConditionalCS_DeltaRM)."""
    accept = np.zeros(len(thetas), dtype=bool)
    kappa = alpha / 10
    for s in range(-(study.n_pre - 1), 1):
        for positive in (True, False):
            a = _rm_constraints(study.n_pre, study.n_post, mbar, s, positive)
            post_rows = np.flatnonzero(np.any(a[:, study.post] != 0, axis=1))  # postPeriodMomentsOnly
            todo = ~accept
            if not todo.any():
                return accept
            if study.n_post == 1:
                a = a[post_rows]
                test = _NoNuisanceTest(a, study.sigma, alpha, kappa, seed)
                y = study.betahat[None, :] - np.outer(thetas[todo], np.eye(study.betahat.size)[study.n_pre])
                accept[todo] = ~test.rejects(y)
                continue
            a_gamma_inv = a[:, study.post] @ np.linalg.inv(_gamma(study.l_vec))
            sigma_y = a @ study.sigma @ a.T
            rows = np.ix_(post_rows, post_rows)
            test = _NuisanceTest(a_gamma_inv[post_rows, 1:], sigma_y[rows], alpha, kappa, seed)
            y = (a @ study.betahat)[post_rows][None, :] - np.outer(thetas[todo], a_gamma_inv[post_rows, 0])
            accept[todo] = ~test.rejects(y)
    return accept


def robust_interval(study: EventStudy, mbar: float, alpha: float = ALPHA, grid_lb: float | None = None,
                    grid_ub: float | None = None, grid_points: int = GRID_POINTS,
                    seed: int = LF_SEED) -> RobustInterval:
    """The C-LF robust confidence set for l' tau_post under Delta^RM(mbar), read off the grid
    (centred, as the README's R and the Stata port; grid_lb/grid_ub replace either end)."""
    grid = study.grid(mbar, grid_points)
    if grid_lb is not None or grid_ub is not None:
        grid = np.linspace(grid[0] if grid_lb is None else grid_lb, grid[-1] if grid_ub is None else grid_ub,
                           grid_points)
    accept = _accepted(study, mbar, grid, alpha, seed)
    if not accept.any():
        return RobustInterval(mbar, None, None, False)
    inside = grid[accept]
    return RobustInterval(mbar, float(inside.min()), float(inside.max()), bool(accept[0] or accept[-1]))


def sensitivity(study: EventStudy, mbars, alpha: float = ALPHA, **grid) -> tuple[RobustInterval, ...]:
    """createSensitivityResults_relativeMagnitudes: one robust interval per Mbar."""
    return tuple(robust_interval(study, float(m), alpha, **grid) for m in mbars)


def rejects_zero(study: EventStudy, mbar: float, alpha: float = ALPHA, seed: int = LF_SEED) -> bool:
    """Whether theta = 0 lies outside the robust set at mbar (the test itself, not a grid point)."""
    return not bool(_accepted(study, mbar, np.zeros(1), alpha, seed)[0])


def breakdown_mbar(study: EventStudy, alpha: float = ALPHA, upper: float = 10.0, step: float = 0.05) -> float | None:
    """The largest Mbar (to `step`, rounded down) at which the robust set still excludes zero; None
    if even Mbar = 0 (parallel trends exactly) does not, `upper` if the set excludes zero there too.

    The identified sets grow with Mbar (Delta^RM(Mbar) is nested), and so, up to the simulated
    critical value, do the confidence sets: bisection on the test of theta = 0 finds the switch."""
    if not rejects_zero(study, 0.0, alpha):
        return None
    if rejects_zero(study, upper, alpha):
        return upper
    low, high = 0, int(round(upper / step))  # in steps: rejects at low, not at high
    while high - low > 1:
        mid = (low + high) // 2
        if rejects_zero(study, mid * step, alpha):
            low = mid
        else:
            high = mid
    return round(low * step, 10)
