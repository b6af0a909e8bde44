"""drift/stats.py against textbook values, closed forms and brute force, plus properties."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from portal.drift.stats import (
    Moments,
    benjamini_hochberg,
    benjamini_hochberg_adjusted,
    binomial_sf,
    chi2_1_sf,
    cochran_mantel_haenszel,
    compound_poisson_rate_test,
    daily_total_test,
    fisher_exact,
    min_expected_count,
    normal_cdf,
    normal_sf,
    normal_two_sided_p,
    poisson_rate_increase_test,
    poisson_rate_test,
    proportion_test,
    regularized_beta,
    smoothed_share,
    stratified_welch_test,
    student_t_cdf,
    student_t_sf,
    student_t_two_sided_p,
    two_proportion_z_test,
    welch_t_test,
)

approx = pytest.approx

counts = st.integers(min_value=0, max_value=60)
probabilities = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
dfs = st.floats(min_value=0.2, max_value=1e6, allow_nan=False)
ts = st.floats(min_value=-60.0, max_value=60.0, allow_nan=False)


@st.composite
def proportions(draw):
    n1 = draw(st.integers(0, 400))
    n2 = draw(st.integers(0, 400))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


@st.composite
def samples(draw, min_size=2):
    values = draw(
        st.lists(
            st.floats(min_value=-1e3, max_value=1e3, allow_nan=False),
            min_size=min_size,
            max_size=40,
        )
    )
    return Moments.of(values)


# --- Moments ------------------------------------------------------------------------------------


def test_moments_mean_and_sample_variance_match_the_statistics_module():
    values = [3.0, 7.0, 7.0, 19.0]
    moments = Moments.of(values)
    assert (moments.n, moments.total, moments.total_sq) == (4, 36.0, 468.0)
    assert moments.mean == 9.0
    assert moments.variance == approx(statistics.variance(values))  # (468 − 324) / 3 = 48
    assert moments.variance == approx(48.0)


def test_moments_add_up_and_degenerate_cases_are_zero():
    assert Moments.of([1.0, 2.0]) + Moments.of([3.0]) == Moments.of([1.0, 2.0, 3.0])
    assert Moments.of([1.0]).add(2.0) == Moments.of([1.0, 2.0])
    assert Moments().mean == 0.0
    assert Moments.of([5.0]).variance == 0.0
    # identical values: rounding must not leave a tiny positive variance
    assert Moments.of([92.07] * 1000).variance == 0.0


@given(st.lists(st.floats(min_value=-1e4, max_value=1e4, allow_nan=False), min_size=2))
def test_moments_variance_is_never_negative_and_close_to_statistics(values):
    moments = Moments.of(values)
    assert moments.variance >= 0.0
    assert moments.variance == approx(statistics.variance(values), rel=1e-6, abs=1e-6)


# --- distributions ------------------------------------------------------------------------------


def test_normal_cdf_known_values():
    assert normal_cdf(0.0) == 0.5
    assert normal_cdf(1.96) == approx(0.9750021048517795, rel=1e-12)
    assert normal_cdf(-1.0) == approx(0.15865525393145707, rel=1e-12)
    assert normal_cdf(-5.0) == approx(2.866515718791933e-07, rel=1e-10)  # a far tail, no 1 − x
    assert normal_sf(1.0) == approx(normal_cdf(-1.0), rel=1e-15)
    assert normal_two_sided_p(1.959963984540054) == approx(0.05, rel=1e-12)
    assert normal_two_sided_p(math.nan) == 1.0


def test_chi2_with_one_degree_of_freedom_is_a_squared_normal():
    assert chi2_1_sf(3.841458820694124) == approx(0.05, rel=1e-10)
    assert chi2_1_sf(0.0) == 1.0


def test_regularized_beta_closed_forms():
    for x in (0.01, 0.3, 0.5, 0.77, 0.999):
        assert regularized_beta(x, 1, 1) == approx(x, rel=1e-13)  # uniform
        assert regularized_beta(x, 3.5, 1) == approx(x**3.5, rel=1e-12)  # I_x(a, 1) = x^a
        assert regularized_beta(x, 1, 4) == approx(1 - (1 - x) ** 4, rel=1e-12)
        assert regularized_beta(x, 17, 17) + regularized_beta(1 - x, 17, 17) == approx(1.0)
    assert regularized_beta(0.5, 40, 40) == approx(0.5, rel=1e-13)
    # the arcsine law: I_x(½, ½) = (2/π) asin(√x)
    assert regularized_beta(0.001, 0.5, 0.5) == approx(
        2 / math.pi * math.asin(math.sqrt(0.001)), rel=1e-12
    )
    assert regularized_beta(0.001, 0.5, 0.5) == approx(0.020135041633377492, rel=1e-10)
    assert regularized_beta(0.3, 2.5, 4.5) == approx(0.40653901668245934, rel=1e-10)
    assert (regularized_beta(0.0, 2, 3), regularized_beta(1.0, 2, 3)) == (0.0, 1.0)
    with pytest.raises(ValueError):
        regularized_beta(0.5, 0, 1)


def test_regularized_beta_of_integers_is_a_binomial_tail():
    # I_x(a, b) = P(Binomial(a + b − 1, x) ≥ a)
    a, b, x = 5, 16, 0.1
    tail = sum(math.comb(20, k) * x**k * (1 - x) ** (20 - k) for k in range(a, 21))
    assert regularized_beta(x, a, b) == approx(tail, rel=1e-12)
    assert tail == approx(0.04317449528446339, rel=1e-12)


@given(
    k=st.integers(0, 2**30),  # x = k / 2³⁰, so that 1 − x is exact
    a=st.floats(min_value=0.05, max_value=500),
    b=st.floats(min_value=0.05, max_value=500),
)
def test_regularized_beta_is_a_cdf_and_symmetric(k, a, b):
    x = k / 2**30
    value = regularized_beta(x, a, b)
    assert 0.0 <= value <= 1.0
    assert value + regularized_beta(1 - x, b, a) == approx(1.0, abs=1e-9)
    assert regularized_beta(min(1.0, x + 0.01), a, b) >= value - 1e-12


def test_student_t_known_values():
    # the brief's value: t = 2.0, df = 10 → one-sided 0.0367
    assert student_t_sf(2.0, 10) == approx(0.03669401738537018, rel=1e-10)
    assert round(student_t_sf(2.0, 10), 4) == 0.0367
    # two-sided 5 % critical values of the t table
    assert student_t_cdf(2.228, 10) == approx(0.975, abs=1e-5)  # table values are rounded
    assert student_t_two_sided_p(2.571, 5) == approx(0.05, abs=5e-5)
    assert student_t_two_sided_p(2.042, 30) == approx(0.05, abs=5e-5)
    assert student_t_two_sided_p(12.706, 1) == approx(0.05, abs=5e-6)
    # non-integer degrees of freedom (Welch): reference values
    assert student_t_cdf(2.5, 7.5) == approx(0.9805898708631873, rel=1e-10)
    assert student_t_cdf(-0.7, 3.3) == approx(0.2650440396616291, rel=1e-10)
    assert student_t_cdf(0.0, 4) == 0.5
    # huge df: the normal distribution
    assert student_t_cdf(1.96, 1e8) == approx(normal_cdf(1.96), rel=1e-8)
    assert student_t_cdf(math.inf, 3) == 1.0
    assert student_t_sf(math.inf, 3) == 0.0


def test_student_t_closed_forms_for_one_and_two_degrees_of_freedom():
    for t in (-30.0, -2.0, -0.5, 0.3, 1.0, 4.0, 100.0):
        assert student_t_cdf(t, 1) == approx(0.5 + math.atan(t) / math.pi, rel=1e-12)  # Cauchy
        assert student_t_cdf(t, 2) == approx(0.5 + t / (2 * math.sqrt(2 + t * t)), rel=1e-12)


def _t_density(x: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))


@pytest.mark.parametrize("df", [0.7, 3.0, 5.88, 13.4, 120.0])
@pytest.mark.parametrize("t", [0.4, 1.5, 3.2])
def test_student_t_cdf_matches_integrating_the_density(t, df):
    """An independent check of the continued fraction: Simpson's rule on the density, 0 → t."""
    steps = 2000
    h = t / steps
    area = _t_density(0, df) + _t_density(t, df)
    area += sum((4 if i % 2 else 2) * _t_density(i * h, df) for i in range(1, steps))
    assert student_t_cdf(t, df) == approx(0.5 + area * h / 3, rel=1e-9)


@given(t=ts, df=dfs)
def test_student_t_is_symmetric_and_its_tails_agree(t, df):
    cdf = student_t_cdf(t, df)
    assert 0.0 <= cdf <= 1.0
    assert cdf + student_t_cdf(-t, df) == approx(1.0, abs=1e-9)
    two_sided = student_t_two_sided_p(t, df)
    assert 0.0 <= two_sided <= 1.0
    assert two_sided == approx(2 * student_t_sf(abs(t), df), rel=1e-7, abs=1e-12)


def test_binomial_sf_edges_and_value():
    assert binomial_sf(5, 20, 0.1) == approx(0.04317449528446339, rel=1e-12)
    assert binomial_sf(0, 3, 0.5) == 1.0
    assert binomial_sf(1, 3, 0.5) == approx(0.875)
    assert binomial_sf(4, 3, 0.5) == 0.0
    assert (binomial_sf(1, 3, 0.0), binomial_sf(3, 3, 1.0)) == (0.0, 1.0)


@given(k=st.integers(-2, 40), n=st.integers(0, 40), p=probabilities)
def test_binomial_sf_matches_the_direct_sum(k, n, p):
    direct = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(max(k, 0), n + 1))
    assert binomial_sf(k, n, p) == approx(direct, rel=1e-9, abs=1e-12)


# --- proportions --------------------------------------------------------------------------------


def test_two_proportion_z_test_textbook_example():
    # 45/100 vs 30/100: pooled p̂ = 0.375, SE = √(0.375·0.625·0.02) = √0.0046875,
    # z = 0.15 / SE, z² = 0.0225 / 0.0046875 = 4.8 exactly (R: prop.test(correct=FALSE) X² = 4.8)
    result = two_proportion_z_test(45, 100, 30, 100)
    assert result.statistic**2 == approx(4.8, rel=1e-12)
    assert result.p_value == approx(math.erfc(math.sqrt(2.4)), rel=1e-12)
    assert result.p_value == approx(0.02845973691631057, rel=1e-10)
    assert result.estimate == approx(0.15)
    assert result.test == "two_proportion_z"


def test_two_proportion_z_test_without_evidence_is_one():
    assert two_proportion_z_test(0, 0, 3, 10).p_value == 1.0
    assert two_proportion_z_test(0, 50, 0, 80).p_value == 1.0  # p̂ = 0
    assert two_proportion_z_test(50, 50, 80, 80).p_value == 1.0  # p̂ = 1
    with pytest.raises(ValueError):
        two_proportion_z_test(5, 4, 1, 10)


@given(proportions())
def test_two_proportion_z_test_is_a_probability_and_symmetric(table):
    x1, n1, x2, n2 = table
    result = two_proportion_z_test(x1, n1, x2, n2)
    swapped = two_proportion_z_test(x2, n2, x1, n1)
    assert 0.0 <= result.p_value <= 1.0
    assert result.p_value == approx(swapped.p_value, rel=1e-12)
    assert result.statistic == approx(-swapped.statistic, abs=1e-12)


def test_fisher_exact_lady_tasting_tea():
    # [[3, 1], [1, 3]]: P(3) = C(4,3)C(4,1)/C(8,4) = 16/70, P(4) = 1/70, P(1) = 16/70, P(0) = 1/70,
    # P(2) = 36/70; the tables no more probable than the observed one sum to 34/70
    result = fisher_exact(3, 1, 1, 3)
    assert result.p_value == approx(34 / 70, rel=1e-12)
    assert round(result.p_value, 4) == 0.4857
    assert result.statistic == 9.0  # odds ratio 3·3 / 1·1


def test_fisher_exact_textbook_table():
    # the classic dieting example [[1, 9], [11, 3]] (two-sided p = 0.002759)
    assert fisher_exact(1, 9, 11, 3).p_value == approx(0.0027594561852200836, rel=1e-10)
    assert fisher_exact(0, 0, 0, 0).p_value == 1.0
    assert fisher_exact(0, 5, 0, 5).p_value == 1.0


def _fisher_by_fractions(a, b, c, d):
    r1, r2, k = a + b, c + d, a + c
    n = r1 + r2

    def prob(x):
        return Fraction(math.comb(r1, x) * math.comb(r2, k - x), math.comb(n, k))

    observed = prob(a)
    return sum(
        (prob(x) for x in range(max(0, k - r2), min(r1, k) + 1) if prob(x) <= observed),
        Fraction(0),
    )


@given(counts, counts, counts, counts)
@settings(max_examples=60)
def test_fisher_exact_matches_exact_fractions_and_is_symmetric(a, b, c, d):
    assume(a + b + c + d > 0)
    p = fisher_exact(a, b, c, d).p_value
    assert 0.0 <= p <= 1.0
    assert p == approx(float(_fisher_by_fractions(a, b, c, d)), rel=1e-9)
    assert p == approx(fisher_exact(c, d, a, b).p_value, rel=1e-9)  # rows swapped
    assert p == approx(fisher_exact(b, a, d, c).p_value, rel=1e-9)  # columns swapped
    assert p == approx(fisher_exact(a, c, b, d).p_value, rel=1e-9)  # transposed


def test_proportion_test_chooses_fisher_for_small_expected_counts():
    # 2 of 30 vs 4 of 200: expected denied in the small group 30·6/230 = 0.78 < 5 → Fisher
    assert min_expected_count(2, 30, 4, 200) == approx(30 * 6 / 230)
    small = proportion_test(2, 30, 4, 200)
    assert small.test == "fisher_exact"
    assert small.p_value == fisher_exact(2, 28, 4, 196).p_value
    assert small.estimate == approx(2 / 30 - 4 / 200)
    large = proportion_test(45, 100, 30, 100)
    assert large.test == "two_proportion_z"
    # exactly 5 expected is enough for the z-test
    assert min_expected_count(5, 10, 5, 10) == 5.0
    assert proportion_test(5, 10, 5, 10).test == "two_proportion_z"
    assert proportion_test(5, 10, 5, 10, min_expected=5.01).test == "fisher_exact"


def test_cochran_mantel_haenszel_textbook_rabbits():
    # R's mantelhaen.test(Rabbits): Mantel-Haenszel X-squared = 3.9286, df = 1, p = 0.04747.
    # Each stratum: (cured, of n) with penicillin immediately vs (cured, of n) delayed.
    strata = [(0, 6, 0, 5), (3, 6, 0, 6), (6, 6, 2, 6), (5, 6, 6, 6), (2, 2, 5, 5)]
    result = cochran_mantel_haenszel(strata)
    assert result.statistic == approx(3.928571428571429, rel=1e-12)
    assert result.p_value == approx(0.047472255142918154, rel=1e-9)


def test_cochran_mantel_haenszel_ignores_a_pure_shift_of_mix():
    # group A denies 5 %, group B 30 %, in both windows; volume moves from A to B
    strata = [(5, 100, 45, 900), (270, 900, 30, 100)]
    crude = two_proportion_z_test(275, 1000, 75, 1000)  # 27.5 % vs 7.5 %: "drift"
    assert crude.p_value < 1e-20
    result = cochran_mantel_haenszel(strata)
    assert result.statistic == 0.0
    assert result.p_value == 1.0
    assert result.estimate == approx(0.0, abs=1e-15)


@given(proportions())
def test_cochran_mantel_haenszel_of_one_stratum_is_the_scaled_z_test(table):
    x1, n1, x2, n2 = table
    n = n1 + n2
    assume(n >= 2)
    z = two_proportion_z_test(x1, n1, x2, n2)
    cmh = cochran_mantel_haenszel([table], correction=False)
    # the hypergeometric variance is (N − 1)/N of the binomial one
    assert cmh.statistic == approx(z.statistic**2 * (n - 1) / n, rel=1e-9, abs=1e-12)
    assert 0.0 <= cochran_mantel_haenszel([table]).p_value <= 1.0
    assert cochran_mantel_haenszel([table]).p_value >= cmh.p_value  # correction: conservative


# --- means --------------------------------------------------------------------------------------


def test_welch_t_test_textbook_example():
    # 1..5 (mean 3, s² 2.5) vs 2, 4, …, 10 (mean 6, s² 10): SE² = 2.5/5 + 10/5 = 2.5,
    # t = −3/√2.5 = −1.8974, df = 2.5² / (0.5²/4 + 2²/4) = 6.25 / 1.0625 = 5.8824, p = 0.10753
    result = welch_t_test(Moments.of([1, 2, 3, 4, 5]), Moments.of([2, 4, 6, 8, 10]))
    assert result.statistic == approx(-3 / math.sqrt(2.5), rel=1e-12)
    assert result.df == approx(6.25 / 1.0625, rel=1e-12)
    assert result.p_value == approx(0.10753119493062728, rel=1e-9)
    assert result.estimate == approx(-3.0)
    assert result.test == "welch_t"


def test_welch_t_test_degenerate_cases():
    assert welch_t_test(Moments.of([1.0]), Moments.of([5.0, 6.0])).p_value == 1.0
    same = welch_t_test(Moments.of([4.0, 4.0, 4.0]), Moments.of([4.0, 4.0]))
    assert (same.statistic, same.p_value) == (0.0, 1.0)
    certain = welch_t_test(Moments.of([5.0, 5.0]), Moments.of([4.0, 4.0]))
    assert (certain.statistic, certain.p_value) == (math.inf, 0.0)


@given(samples(), samples())
def test_welch_t_test_is_a_probability_and_symmetric(a, b):
    forward, backward = welch_t_test(a, b), welch_t_test(b, a)
    assert 0.0 <= forward.p_value <= 1.0
    assert forward.p_value == approx(backward.p_value, rel=1e-9, abs=1e-15)
    assert forward.estimate == approx(-backward.estimate, abs=1e-9)


@given(samples(), samples())
def test_stratified_welch_of_one_stratum_is_welch(a, b):
    one = stratified_welch_test([(a, b)])
    welch = welch_t_test(a, b)
    assert one.p_value == approx(welch.p_value, rel=1e-12, abs=1e-300)
    assert one.estimate == approx(welch.estimate, rel=1e-12, abs=1e-12)


def test_stratified_welch_compares_like_with_like():
    # two strata (fast denials ~7 days, slow payments ~21 days) with unchanged days within each;
    # the current window simply has more denials: pooled means differ, strata do not
    fast = Moments.of([6.0, 7.0, 8.0] * 10)
    slow = Moments.of([20.0, 21.0, 22.0] * 10)
    fast_many = Moments.of([6.0, 7.0, 8.0] * 30)
    pooled = welch_t_test(fast_many + slow, fast + slow)
    assert pooled.p_value < 0.01
    result = stratified_welch_test([(fast_many, fast), (slow, slow)])
    assert result.estimate == approx(0.0, abs=1e-12)
    assert result.p_value == approx(1.0)
    # weights: by default the current (first) group's counts, renormalised over kept strata
    shifted = Moments.of([9.0, 10.0, 11.0] * 30)  # +3 days in the fast stratum only
    result = stratified_welch_test([(shifted, fast), (slow, slow), (Moments.of([1.0]), slow)])
    assert result.estimate == approx(3.0 * 90 / 120)
    assert stratified_welch_test([(shifted, fast), (slow, slow)], [1, 0]).estimate == approx(3.0)
    assert stratified_welch_test([]).p_value == 1.0


# --- totals and counts ----------------------------------------------------------------------------


def test_compound_poisson_rate_test_by_hand():
    # current: 28 denials of $100 in 14 days ($200/day); baseline: 90 of $100 in 90 days
    # ($100/day). Pooled λE[X²] = (280,000 + 900,000) / 104 per day;
    # z = 100 / √(that · (1/14 + 1/90)) = 3.2677
    result = compound_poisson_rate_test(2800, 280_000, 14, 9000, 900_000, 90)
    expected_z = 100 / math.sqrt(1_180_000 / 104 * (1 / 14 + 1 / 90))
    assert result.statistic == approx(expected_z, rel=1e-12)
    assert result.statistic == approx(3.267715731469755, rel=1e-12)
    assert result.p_value == approx(0.0010841920256015357, rel=1e-9)
    assert result.estimate == approx(100.0)
    assert compound_poisson_rate_test(0, 0, 14, 0, 0, 90).p_value == 1.0
    with pytest.raises(ValueError):
        compound_poisson_rate_test(1, 1, 0, 1, 1, 90)


def test_poisson_rate_increase_test_absent_in_the_baseline():
    # 3 now, none in the baseline, exposures 14 and 90: p = (14/104)³
    result = poisson_rate_increase_test(3, 14, 0, 90)
    assert result.p_value == approx((14 / 104) ** 3, rel=1e-12)
    assert result.p_value == approx(0.00243940600819299, rel=1e-9)
    assert result.test == "poisson_exact_one_sided"
    # 8 now, 12 before: P(Binomial(20, 14/104) ≥ 8)
    pi = 14 / 104
    direct = sum(math.comb(20, k) * pi**k * (1 - pi) ** (20 - k) for k in range(8, 21))
    assert poisson_rate_increase_test(8, 14, 12, 90).p_value == approx(direct, rel=1e-10)
    assert poisson_rate_increase_test(0, 14, 5, 90).p_value == 1.0
    assert poisson_rate_increase_test(1, 0, 5, 90).p_value == 1.0


def test_poisson_rate_test_is_two_sided_by_doubling_the_smaller_tail():
    pi = 14 / 104
    upper = sum(math.comb(20, k) * pi**k * (1 - pi) ** (20 - k) for k in range(8, 21))
    assert poisson_rate_test(8, 14, 12, 90).p_value == approx(2 * upper, rel=1e-10)
    lower = sum(math.comb(30, k) * pi**k * (1 - pi) ** (30 - k) for k in range(0, 1))
    assert poisson_rate_test(0, 14, 30, 90).p_value == approx(2 * lower, rel=1e-10)
    assert poisson_rate_test(10, 1, 10, 1).p_value == 1.0
    assert poisson_rate_test(0, 14, 0, 90).p_value == 1.0


@given(c1=counts, c2=counts, e1=st.integers(1, 200), e2=st.integers(1, 200))
def test_poisson_rate_tests_are_probabilities_and_symmetric(c1, c2, e1, e2):
    two_sided = poisson_rate_test(c1, e1, c2, e2).p_value
    assert 0.0 <= two_sided <= 1.0
    assert two_sided == approx(poisson_rate_test(c2, e2, c1, e1).p_value, rel=1e-9, abs=1e-12)
    one_sided = poisson_rate_increase_test(c1, e1, c2, e2).p_value
    assert 0.0 <= one_sided <= 1.0


def test_daily_total_test_uses_the_exact_count_test_for_few_events():
    # 3 denials now and 9 before, 14 vs 90 days: a common rate expects 12·14/104 = 1.6 now
    few = daily_total_test(3, 900, 270_000, 14, 9, 900, 90_000, 90)
    assert few.test == "poisson_exact"
    assert few.p_value == poisson_rate_test(3, 14, 9, 90).p_value
    assert few.estimate == approx(900 / 14 - 900 / 90)
    many = daily_total_test(28, 2800, 280_000, 14, 90, 9000, 900_000, 90)
    assert many.test == "compound_poisson_z"  # expects 118·14/104 = 15.9 now
    assert many.p_value == compound_poisson_rate_test(2800, 280_000, 14, 9000, 900_000, 90).p_value


def test_smoothed_share_keeps_absent_reasons_finite():
    assert smoothed_share(0, 200) == approx(0.5 / 201)
    assert smoothed_share(10, 10) == approx(10.5 / 11)
    assert smoothed_share(0, 0) == 0.5


# --- Benjamini–Hochberg -------------------------------------------------------------------------


def test_benjamini_hochberg_paper_example():
    # Benjamini & Hochberg (1995), 15 p-values at q = 0.05: four rejections
    # (p(4) = 0.0095 ≤ 4·0.05/15 = 0.0133; p(5) = 0.0201 > 0.0167, and no later p(k) ≤ k·q/m)
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459]
    p += [0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000]
    assert benjamini_hochberg(p, 0.05) == [True] * 4 + [False] * 11


def test_benjamini_hochberg_steps_up():
    # 0.04 is above its own threshold 1·0.05/2, but p(2) = 0.04 ≤ 2·0.05/2 rejects both
    assert benjamini_hochberg([0.04, 0.04]) == [True, True]
    # order is kept
    assert benjamini_hochberg([0.9, 0.001, 0.2]) == [False, True, False]
    assert benjamini_hochberg([]) == []
    assert benjamini_hochberg([math.nan, 0.0001]) == [False, True]
    with pytest.raises(ValueError):
        benjamini_hochberg([0.1], 0.0)


def test_benjamini_hochberg_adjusted_values():
    # m = 4: sorted 0.005, 0.01, 0.03, 0.04 → 4·p/rank = 0.02, 0.02, 0.04, 0.04 (running minimum)
    assert benjamini_hochberg_adjusted([0.01, 0.04, 0.03, 0.005]) == approx(
        [0.02, 0.04, 0.04, 0.02]
    )
    assert benjamini_hochberg_adjusted([0.5, 1.0]) == approx([1.0, 1.0])


p_lists = st.lists(probabilities, min_size=0, max_size=40)
qs = st.floats(min_value=0.001, max_value=0.999)


@given(p_lists, qs, qs)
def test_benjamini_hochberg_rejects_a_superset_when_q_grows(p_values, q1, q2):
    low, high = sorted((q1, q2))
    smaller = benjamini_hochberg(p_values, low)
    larger = benjamini_hochberg(p_values, high)
    assert all(b for a, b in zip(smaller, larger, strict=True) if a)


@given(st.integers(0, 50), qs)
def test_benjamini_hochberg_on_all_ones_rejects_none(m, q):
    assert not any(benjamini_hochberg([1.0] * m, q))


@given(p_lists, qs)
def test_benjamini_hochberg_rejects_the_smallest_and_agrees_with_adjusted(p_values, q):
    rejected = benjamini_hochberg(p_values, q)
    if any(rejected):
        largest_rejected = max(p for p, r in zip(p_values, rejected, strict=True) if r)
        assert all(r for p, r in zip(p_values, rejected, strict=True) if p <= largest_rejected)
    for r, adjusted in zip(rejected, benjamini_hochberg_adjusted(p_values), strict=True):
        assert 0.0 <= adjusted <= 1.0
        if adjusted < q * (1 - 1e-9):
            assert r
        if adjusted > q * (1 + 1e-9):
            assert not r


@given(p_lists, qs, st.randoms(use_true_random=False))
def test_benjamini_hochberg_does_not_depend_on_order(p_values, q, rng):
    shuffled = list(enumerate(p_values))
    rng.shuffle(shuffled)
    rejected = benjamini_hochberg([p for _, p in shuffled], q)
    by_index = dict(zip((i for i, _ in shuffled), rejected, strict=True))
    assert [by_index[i] for i in range(len(p_values))] == benjamini_hochberg(p_values, q)
