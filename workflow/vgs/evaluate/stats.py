"""Statistics behind the paper's claims: correlations with confidence intervals, Williams' test
for two dependent correlations, and the OLS regression / AIC of Table 3.

Conventions (chosen so numbers are comparable with the paper and with R):

* **Confidence intervals** of Pearson's and Spearman's r use Fisher's z transform with standard
  error ``1/sqrt(n-3)`` (identical to ``scipy.stats.pearsonr(...).confidence_interval()``; for
  Spearman the same interval is applied to the rank correlation, which is slightly narrow for
  strongly non-normal data but is what most STS papers report).
* **Model comparisons** use Williams' (1959) t for two correlations that share a variable (the
  human scores), recommended by Steiger (1980): two models scored on the same pairs are not
  independent samples, so comparing their CIs by eye is wrong.
* **AIC** counts three parameters (intercept, slope, residual variance), as R's ``AIC(lm(...))``
  does and as the paper's Table 3 values imply; statsmodels counts two and is therefore 2 lower.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

#: Parameters of a simple OLS regression counted by R's AIC: intercept, slope, residual variance.
AIC_PARAMETERS = 3


def fisher_ci(r: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of a correlation coefficient by Fisher's z transform.

    Returns ``(nan, nan)`` when ``n <= 3`` (the standard error is undefined).
    """
    if n <= 3 or not np.isfinite(r):
        return (math.nan, math.nan)
    z = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15))
    half = stats.norm.ppf(0.5 + level / 2) / math.sqrt(n - 3)
    return (math.tanh(z - half), math.tanh(z + half))


@dataclass(frozen=True)
class Correlation:
    """Pearson and Spearman correlation of two samples, each with its CI and p-value."""

    n: int
    pearson: float
    pearson_low: float
    pearson_high: float
    pearson_p: float
    spearman: float
    spearman_low: float
    spearman_high: float
    spearman_p: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def correlate(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> Correlation:
    """Pearson's and Spearman's r of ``x`` and ``y`` with Fisher-z CIs at ``level``.

    Fewer than three pairs, or a constant input, give NaN rather than an exception: a subtask
    that a small configuration leaves nearly empty should show up as a gap, not stop the run.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"correlate: shapes differ {x.shape} vs {y.shape}")
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        nan = math.nan
        return Correlation(n, nan, nan, nan, nan, nan, nan, nan, nan)
    pearson = stats.pearsonr(x, y)
    spearman = stats.spearmanr(x, y)
    p_low, p_high = fisher_ci(float(pearson.statistic), n, level)
    s_low, s_high = fisher_ci(float(spearman.statistic), n, level)
    return Correlation(
        n=n,
        pearson=float(pearson.statistic),
        pearson_low=p_low,
        pearson_high=p_high,
        pearson_p=float(pearson.pvalue),
        spearman=float(spearman.statistic),
        spearman_low=s_low,
        spearman_high=s_high,
        spearman_p=float(spearman.pvalue),
    )


def mean_correlation(values: np.ndarray, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Average correlations over seeds in Fisher z space; return ``(r, low, high)`` at ``n``.

    Why z space: r is bounded and skewed near ±1, its z transform is approximately normal, so
    averaging there is the standard way to pool correlations measured on the same items.
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return (math.nan, math.nan, math.nan)
    r = math.tanh(float(np.mean(np.arctanh(np.clip(finite, -1 + 1e-15, 1 - 1e-15)))))
    return (r, *fisher_ci(r, n, level))


@dataclass(frozen=True)
class DependentComparison:
    """Williams' test of H0: r(gold, a) = r(gold, b), where a and b are scored on the same items."""

    n: int
    r_a: float
    r_b: float
    r_ab: float
    t: float
    df: int
    p: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def williams_t(r12: float, r13: float, r23: float, n: int) -> tuple[float, int, float]:
    """Williams' (1959) t for ``r12 - r13`` with ``n - 3`` df, two-sided p (Steiger 1980, eq. 7).

    Variable 1 is shared (the human scores); ``r23`` is the correlation of the two predictors.
    """
    if n <= 3:
        raise ValueError(f"Williams' test needs n > 3, got n={n}")
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    mean_r = (r12 + r13) / 2
    denominator = 2 * (n - 1) / (n - 3) * det + mean_r**2 * (1 - r23) ** 3
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / denominator)
    df = n - 3
    return (t, df, float(2 * stats.t.sf(abs(t), df)))


def compare_dependent(gold: np.ndarray, a: np.ndarray, b: np.ndarray) -> DependentComparison:
    """Williams' test between the Pearson correlations of ``a`` and ``b`` with ``gold``."""
    matrix = np.corrcoef(np.vstack([gold, a, b]).astype(float))
    n = int(np.asarray(gold).size)
    t, df, p = williams_t(matrix[0, 1], matrix[0, 2], matrix[1, 2], n)
    return DependentComparison(n, matrix[0, 1], matrix[0, 2], matrix[1, 2], t, df, p)


@dataclass(frozen=True)
class RegressionFit:
    """OLS of human scores on one predictor; AIC by R's convention (see module docstring)."""

    n: int
    intercept: float
    slope: float
    r_squared: float
    log_likelihood: float
    aic: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def regression_aic(gold: np.ndarray, predictor: np.ndarray) -> RegressionFit:
    """Fit ``gold ~ 1 + predictor`` by OLS; AIC = -2·LL + 2·3 (R's ``AIC(lm())``)."""
    # Imported here: the jobs that import this module for correlations (eval_sts, once per model) never
    # fit a regression, and their imports took 1.29 -> 0.88 s without it (python -X importtime, 2026-12-08).
    import statsmodels.api as sm

    y = np.asarray(gold, dtype=float)
    x = sm.add_constant(np.asarray(predictor, dtype=float), has_constant="add")
    fit = sm.OLS(y, x).fit()
    log_likelihood = float(fit.llf)
    return RegressionFit(
        n=int(y.size),
        intercept=float(fit.params[0]),
        slope=float(fit.params[1]),
        r_squared=float(fit.rsquared),
        log_likelihood=log_likelihood,
        aic=-2 * log_likelihood + 2 * AIC_PARAMETERS,
    )
