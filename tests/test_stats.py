"""Statistics against scipy, statsmodels and a published worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from vgs.evaluate.stats import (
    AIC_PARAMETERS,
    compare_dependent,
    correlate,
    fisher_ci,
    mean_correlation,
    regression_aic,
    williams_t,
)


@pytest.fixture
def sample() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x = rng.normal(size=150)
    return x, 0.6 * x + rng.normal(size=150)


def test_correlations_and_cis_agree_with_scipy(sample) -> None:
    x, y = sample
    result = correlate(x, y, level=0.9)
    pearson = stats.pearsonr(x, y)
    ci = pearson.confidence_interval(confidence_level=0.9)
    assert result.pearson == pytest.approx(pearson.statistic, abs=1e-12)
    assert result.pearson_p == pytest.approx(pearson.pvalue, rel=1e-9)
    assert (result.pearson_low, result.pearson_high) == pytest.approx((ci.low, ci.high), abs=1e-10)
    spearman = stats.spearmanr(x, y)
    assert result.spearman == pytest.approx(spearman.statistic, abs=1e-12)
    assert result.spearman_p == pytest.approx(spearman.pvalue, rel=1e-9)
    # Spearman's CI is the Fisher interval of the rank correlation = scipy's Pearson CI on ranks.
    rank_ci = stats.pearsonr(stats.rankdata(x), stats.rankdata(y)).confidence_interval(0.9)
    assert (result.spearman_low, result.spearman_high) == pytest.approx((rank_ci.low, rank_ci.high), abs=1e-10)
    assert result.n == 150


def test_degenerate_inputs_give_nan() -> None:
    assert math.isnan(correlate(np.ones(10), np.arange(10)).pearson)
    assert math.isnan(correlate(np.arange(2.0), np.arange(2.0)).spearman)
    assert all(math.isnan(v) for v in fisher_ci(0.5, 3))
    with pytest.raises(ValueError, match="shapes differ"):
        correlate(np.arange(4), np.arange(5))


def test_mean_correlation_in_fisher_space() -> None:
    r, low, high = mean_correlation(np.array([0.2, 0.8]), 50)
    assert r == pytest.approx(math.tanh((math.atanh(0.2) + math.atanh(0.8)) / 2))
    assert (low, high) == pytest.approx(fisher_ci(r, 50))
    assert mean_correlation(np.array([0.4]), 30) == pytest.approx((0.4, *fisher_ci(0.4, 30)))


def test_williams_matches_howell_worked_example() -> None:
    """Howell, *Statistical Methods for Psychology* (6th ed., p. 262), as reproduced with SPSS
    output by B. Weaver (CBU statistics wiki, FAQ/Will): r12 = .80, r13 = .72, r23 = .89,
    n = 26 gives t = 1.361 with 23 df, two-sided p = .187."""
    t, df, p = williams_t(0.80, 0.72, 0.89, 26)
    assert round(t, 3) == 1.361
    assert df == 23
    assert round(p, 3) == 0.187


def test_williams_is_antisymmetric_and_rejects_tiny_n() -> None:
    t_ab = williams_t(0.5, 0.3, 0.4, 100)[0]
    assert williams_t(0.3, 0.5, 0.4, 100)[0] == pytest.approx(-t_ab)
    assert williams_t(0.5, 0.5, 0.4, 100)[0] == 0.0
    with pytest.raises(ValueError, match="n > 3"):
        williams_t(0.5, 0.3, 0.4, 3)


def test_compare_dependent_uses_sample_correlations(sample) -> None:
    x, gold = sample
    rng = np.random.default_rng(5)
    noisy = x + rng.normal(scale=2.0, size=x.size)
    result = compare_dependent(gold, x, noisy)
    assert result.r_a == pytest.approx(stats.pearsonr(gold, x).statistic)
    assert result.r_ab == pytest.approx(stats.pearsonr(x, noisy).statistic)
    assert result.t > 0 and result.p < 0.05  # x predicts gold better than its noisy copy
    expected = williams_t(result.r_a, result.r_b, result.r_ab, x.size)
    assert (result.t, result.df, result.p) == pytest.approx(expected)


def test_aic_is_statsmodels_plus_residual_variance_parameter(sample) -> None:
    x, y = sample
    fit = regression_aic(y, x)
    reference = sm.OLS(y, sm.add_constant(x)).fit()
    assert fit.log_likelihood == pytest.approx(reference.llf)
    # statsmodels counts intercept and slope only; R (and the paper) also the residual variance.
    assert fit.aic == pytest.approx(reference.aic + 2)
    assert fit.aic == pytest.approx(-2 * reference.llf + 2 * AIC_PARAMETERS)
    assert (fit.intercept, fit.slope) == pytest.approx(tuple(reference.params))
    assert fit.r_squared == pytest.approx(stats.pearsonr(x, y).statistic ** 2)
