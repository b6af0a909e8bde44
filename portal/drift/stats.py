"""Significance tests for drift detection (PRODUCT §4). Pure Python, ``math`` only.

Every test here takes what a grouped SQL query can return — counts, sums, sums of squares — never
one value per claim, so detection keeps constant memory whatever the number of claims:

- rates (denial rate): ``two_proportion_z_test``; ``fisher_exact`` when counts are small, chosen
  by ``proportion_test``; ``cochran_mantel_haenszel`` across CPT groups for a payer-wide rate;
- means (days to decision, allowed amount per claim): ``welch_t_test`` from ``Moments``
  (n, Σx, Σx²), and ``stratified_welch_test`` to compare like with like (same outcome, same CPT
  code) when the mix of strata differs between windows;
- totals per day (billed dollars denied per day): ``compound_poisson_rate_test``, or the exact
  ``poisson_rate_test`` on the counts when there are few events, chosen by ``daily_total_test``;
- counts over an exposure (a denial reason among denials): ``poisson_rate_increase_test``;
- the false discovery rate across all tests of a run: ``benjamini_hochberg``.

Distributions: ``normal_cdf`` (``math.erfc``), ``student_t_cdf`` and ``binomial_sf`` (both by the
regularized incomplete beta function, a continued fraction), ``fisher_exact`` by log-factorials.

p-values are two-sided unless the name says otherwise; every p-value is in [0, 1]. A test with no
information (an empty window, no variance and no difference) returns p = 1.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SQRT2 = math.sqrt(2.0)


@dataclass(frozen=True)
class Moments:
    """Count, sum and sum of squares of some values: all that a mean and a variance need, and what
    SQL gives with ``count(x), sum(x), sum(x * x)``. Moments add up (windows, strata, groups)."""

    n: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    @classmethod
    def of(cls, values: Iterable[float]) -> Moments:
        n, total, total_sq = 0, 0.0, 0.0
        for value in values:
            n += 1
            total += value
            total_sq += value * value
        return cls(n, total, total_sq)

    def __add__(self, other: Moments) -> Moments:
        return Moments(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    def add(self, value: float) -> Moments:
        return Moments(self.n + 1, self.total + value, self.total_sq + value * value)

    @property
    def mean(self) -> float:
        """The mean; 0.0 for no values."""
        return self.total / self.n if self.n else 0.0

    @property
    def variance(self) -> float:
        """The sample variance (n − 1 denominator); 0.0 for fewer than two values.

        Computed as (Σx² − (Σx)²/n) / (n − 1). That difference of large numbers loses precision when
        the spread is tiny against the mean; a result within rounding error of zero (or below it)
        is taken as zero. For days (< 1,000) and dollar amounts (< 10⁶) over a million claims the
        float64 error stays far below any variance that matters."""
        if self.n < 2:
            return 0.0
        centred = self.total_sq - self.total * self.total / self.n
        if centred <= 1e-12 * self.total_sq:
            return 0.0
        return centred / (self.n - 1)


@dataclass(frozen=True)
class Significance:
    """The result of one test: its statistic, p-value and name; ``df`` for t tests; ``estimate``
    the effect it tested (a difference of proportions, of means or of daily totals), if any."""

    statistic: float
    p_value: float
    test: str
    df: float | None = None
    estimate: float | None = None


def _clamp(p: float) -> float:
    if math.isnan(p):
        return 1.0
    return min(1.0, max(0.0, p))


# --- distributions ---------------------------------------------------------------------------


def normal_cdf(z: float) -> float:
    """P(Z ≤ z) for a standard normal Z, as ½·erfc(−z/√2) (accurate in both tails)."""
    return 0.5 * math.erfc(-z / SQRT2)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / SQRT2)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) = erfc(|z|/√2)."""
    if math.isnan(z):
        return 1.0
    return _clamp(math.erfc(abs(z) / SQRT2))


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method.

    1. I_x(a, b) = x^a (1 − x)^b / (a·B(a, b)) · 1 / (1 + d₁/(1 + d₂/(1 + …))) with
       d₂ₘ₊₁ = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) and
       d₂ₘ = m (b − m) x / ((a + 2m − 1)(a + 2m)) (Abramowitz & Stegun 26.5.8).
    2. Lentz: carry the ratios C = fₙ/fₙ₋₁ and D = fₙ₋₁/fₙ of successive convergents instead of
       the convergents themselves, nudging any zero denominator to a tiny number; stop when the
       last two-step factor is within 3·10⁻¹⁶ of 1.
    3. It converges fast for x < (a + 1)/(a + b + 2), in O(√max(a, b)) steps; the caller uses the
       symmetry I_x(a, b) = 1 − I_{1−x}(b, a) on the other side.
    """
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 3e-16:
            return h
    raise ArithmeticError(f"incomplete beta did not converge for x={x}, a={a}, b={b}")


def regularized_beta(x: float, a: float, b: float) -> float:
    """The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), for a, b > 0.

    It is the CDF of a Beta(a, b) variable, and gives the Student t and binomial tails. Uses the
    continued fraction on the side where it converges (see ``_beta_continued_fraction``), with the
    prefactor x^a (1 − x)^b / B(a, b) from ``math.lgamma`` so that large a, b do not overflow."""
    if a <= 0 or b <= 0:
        raise ValueError("a and b must be positive")
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return _clamp(front * _beta_continued_fraction(x, a, b) / a)
    return _clamp(1.0 - front * _beta_continued_fraction(1.0 - x, b, a) / b)


def student_t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` > 0 degrees of freedom (need not be an integer).

    P(|T| > |t|) = I_x(df/2, 1/2) with x = df / (df + t²); half of it is the upper tail for
    t ≥ 0. Beyond 10⁷ degrees of freedom the normal tail is used (they agree to ~10⁻⁸)."""
    if df <= 0:
        raise ValueError("df must be positive")
    if math.isnan(t):
        return math.nan
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    if df > 1e7:
        return normal_sf(t)
    tail = 0.5 * regularized_beta(df / (df + t * t), df / 2.0, 0.5)
    return tail if t >= 0 else 1.0 - tail


def student_t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    return 1.0 - student_t_sf(t, df) if t >= 0 else student_t_sf(-t, df)


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|), computed directly (no 1 − x cancellation for large |t|)."""
    if math.isnan(t):
        return 1.0
    if math.isinf(t):
        return 0.0
    if df > 1e7:
        return normal_two_sided_p(t)
    return _clamp(regularized_beta(df / (df + t * t), df / 2.0, 0.5))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p), as I_p(k, n − k + 1) for 1 ≤ k ≤ n."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return regularized_beta(p, k, n - k + 1)


def chi2_1_sf(x: float) -> float:
    """P(χ²₁ > x) = erfc(√(x/2)): a χ² with one degree of freedom is a squared standard normal."""
    if x <= 0:
        return 1.0
    return _clamp(math.erfc(math.sqrt(x / 2.0)))


# --- proportions ------------------------------------------------------------------------------


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> Significance:
    """Is the proportion x1/n1 different from x2/n2? Two-sided, pooled standard error.

    z = (p₁ − p₂) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)) with p̂ = (x₁ + x₂)/(n₁ + n₂), the proportion under
    the null hypothesis that both are equal; z² is Pearson's χ² of the 2×2 table without Yates'
    correction. Valid when every expected cell count is ≥ 5 (else use ``fisher_exact``).
    ``estimate`` is p₁ − p₂. An empty group, or p̂ of 0 or 1, carries no evidence: p = 1."""
    _check_counts(x1, n1, x2, n2)
    if n1 == 0 or n2 == 0:
        return Significance(0.0, 1.0, "two_proportion_z", estimate=0.0)
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    if variance <= 0.0:
        return Significance(0.0, 1.0, "two_proportion_z", estimate=p1 - p2)
    z = (p1 - p2) / math.sqrt(variance)
    return Significance(z, normal_two_sided_p(z), "two_proportion_z", estimate=p1 - p2)


def _check_counts(x1: int, n1: int, x2: int, n2: int) -> None:
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError(f"counts must satisfy 0 ≤ x ≤ n: {x1}/{n1}, {x2}/{n2}")


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _odds_ratio(a: int, b: int, c: int, d: int) -> float:
    if b * c:
        return a * d / (b * c)
    return math.inf if a * d else math.nan


def fisher_exact(a: int, b: int, c: int, d: int) -> Significance:
    """Fisher's exact test of the 2×2 table [[a, b], [c, d]], two-sided.

    1. With the margins fixed (rows r₁ = a + b, r₂ = c + d, first column k = a + c, total N), the
       top-left cell follows the hypergeometric law P(x) = C(r₁, x)·C(r₂, k − x) / C(N, k) for
       max(0, k − r₂) ≤ x ≤ min(r₁, k); log-factorials come from ``math.lgamma``.
    2. The two-sided p-value sums P(x) over every table no more probable than the observed one
       (P(x) ≤ P(a), with a relative tolerance of 10⁻⁷ so that ties survive rounding, as R does).
    ``statistic`` is the sample odds ratio ad/bc (``inf`` when bc = 0 < ad, ``nan`` for 0/0)."""
    if min(a, b, c, d) < 0:
        raise ValueError("table cells must be non-negative")
    r1, r2, k = a + b, c + d, a + c
    n = r1 + r2
    odds = _odds_ratio(a, b, c, d)
    if n == 0:
        return Significance(odds, 1.0, "fisher_exact")
    log_denominator = _log_choose(n, k)

    def log_p(x: int) -> float:
        return _log_choose(r1, x) + _log_choose(r2, k - x) - log_denominator

    observed = log_p(a)
    limit = observed + math.log1p(1e-7)
    p = 0.0
    for x in range(max(0, k - r2), min(r1, k) + 1):
        lp = log_p(x)
        if lp <= limit:
            p += math.exp(lp)
    return Significance(odds, _clamp(p), "fisher_exact")


def min_expected_count(x1: int, n1: int, x2: int, n2: int) -> float:
    """The smallest expected cell count of the table [[x1, n1 − x1], [x2, n2 − x2]] under
    independence: row total × column total / N, over the four cells."""
    n = n1 + n2
    if n == 0:
        return 0.0
    yes, no = x1 + x2, n - x1 - x2
    return min(r * col for r in (n1, n2) for col in (yes, no)) / n


def proportion_test(
    x1: int, n1: int, x2: int, n2: int, *, min_expected: float = 5.0
) -> Significance:
    """Compare two proportions with the test their counts call for.

    The z-test's normal approximation (equivalently Pearson's χ²) is trusted when every expected
    cell count of the 2×2 table is at least ``min_expected`` (the textbook rule of 5, Cochran 1954);
    below that — a rare outcome or a small window — Fisher's exact test is used. The returned
    ``test`` names which ran; ``estimate`` is p₁ − p₂ either way."""
    _check_counts(x1, n1, x2, n2)
    if min_expected_count(x1, n1, x2, n2) >= min_expected:
        return two_proportion_z_test(x1, n1, x2, n2)
    result = fisher_exact(x1, n1 - x1, x2, n2 - x2)
    estimate = (x1 / n1 if n1 else 0.0) - (x2 / n2 if n2 else 0.0)
    return Significance(result.statistic, result.p_value, result.test, estimate=estimate)


def cochran_mantel_haenszel(
    strata: Sequence[tuple[int, int, int, int]], *, correction: bool = True
) -> Significance:
    """Do two groups differ in a proportion *within* strata? Each stratum is (x1, n1, x2, n2): x1
    of n1 in group 1 (the current window) and x2 of n2 in group 2 (the baseline).

    Used for a payer-wide denial rate with CPT groups as strata: a shift of volume towards a
    group that is always denied more moves the crude rate but no within-group rate, and this test
    (unlike one crude two-proportion test) does not mistake it for drift.

    1. Per stratum k, the 2×2 table [[x1, n1 − x1], [x2, n2 − x2]] with N = n1 + n2 and
       m = x1 + x2; strata with N < 2 carry no information and are skipped.
    2. Under "no difference within any stratum", x1 is hypergeometric with mean E = n1·m/N and
       variance V = n1·n2·m·(N − m) / (N²(N − 1)).
    3. Statistic (|Σ(x1 − E)| − ½)² / ΣV (the ½ continuity correction unless ``correction`` is
       False; clipped at 0), referred to χ² with one degree of freedom. ΣV = 0 (every stratum all
       yes or all no): p = 1.
    4. ``estimate`` is the directly standardised difference Σ n1·(p1 − p2) / Σ n1: group 1's rate
       minus what group 2's per-stratum rates would give on group 1's mix (strata used by 1.).
    Textbook check (R's ``mantelhaen.test`` on its Rabbits data): χ² = 3.9286, p = 0.04747."""
    excess = variance = weighted_difference = weight = 0.0
    for x1, n1, x2, n2 in strata:
        _check_counts(x1, n1, x2, n2)
        n = n1 + n2
        if n < 2:
            continue
        m = x1 + x2
        excess += x1 - n1 * m / n
        variance += n1 * n2 * m * (n - m) / (n * n * (n - 1))
        if n1 and n2:
            weighted_difference += n1 * (x1 / n1 - x2 / n2)
            weight += n1
    estimate = weighted_difference / weight if weight else 0.0
    if variance <= 0.0:
        return Significance(0.0, 1.0, "cochran_mantel_haenszel", estimate=estimate)
    deviation = max(0.0, abs(excess) - (0.5 if correction else 0.0))
    statistic = deviation * deviation / variance
    return Significance(
        statistic, chi2_1_sf(statistic), "cochran_mantel_haenszel", estimate=estimate
    )


# --- means ------------------------------------------------------------------------------------


def welch_t_test(a: Moments, b: Moments) -> Significance:
    """Do the means of two samples differ? Welch's t-test (unequal variances), two-sided, from
    count, sum and sum of squares alone.

    t = (x̄_a − x̄_b) / √(s²_a/n_a + s²_b/n_b), with Welch–Satterthwaite degrees of freedom
    df = (s²_a/n_a + s²_b/n_b)² / ((s²_a/n_a)²/(n_a − 1) + (s²_b/n_b)²/(n_b − 1)).
    Needs n ≥ 2 on both sides (else p = 1). ``estimate`` is x̄_a − x̄_b. Both variances zero:
    p = 1 if the means are equal, else 0 (a certain difference)."""
    return stratified_welch_test([(a, b)], test="welch_t")


def stratified_welch_test(
    strata: Sequence[tuple[Moments, Moments]],
    weights: Sequence[float] | None = None,
    *,
    test: str = "stratified_welch_t",
) -> Significance:
    """Does group a's mean differ from group b's *within* strata? A weighted sum of per-stratum
    Welch differences, for when the mix of strata differs between the groups (days to decision by
    outcome, because denials are decided faster than payments; allowed amount by CPT code).

    1. Keep strata with at least two values on both sides (a variance needs two).
    2. Weights wₖ (default: stratum k's share of group a, nₐₖ / Σ nₐ, i.e. standardised to a's mix),
       renormalised over the kept strata.
    3. D = Σ wₖ (x̄ₐₖ − x̄_bₖ); Var D = Σ wₖ² (s²ₐₖ/nₐₖ + s²_bₖ/n_bₖ), the strata being independent.
    4. t = D / √Var D, with Satterthwaite's degrees of freedom for a linear combination of
       variances: df = (Var D)² / Σ [(wₖ² s²ₐₖ/nₐₖ)²/(nₐₖ − 1) + (wₖ² s²_bₖ/n_bₖ)²/(n_bₖ − 1)].
    With one stratum this is exactly Welch's t-test. ``estimate`` is D."""
    kept = [(k, a, b) for k, (a, b) in enumerate(strata) if a.n >= 2 and b.n >= 2]  # 1.
    if not kept:
        return Significance(0.0, 1.0, test, estimate=0.0)
    raw = [(weights[k] if weights is not None else a.n) for k, a, _ in kept]  # 2.
    total_weight = sum(raw)
    if total_weight <= 0:
        return Significance(0.0, 1.0, test, estimate=0.0)
    difference = variance = df_denominator = 0.0
    for w_raw, (_, a, b) in zip(raw, kept, strict=True):
        w = w_raw / total_weight
        difference += w * (a.mean - b.mean)  # 3.
        part_a = w * w * a.variance / a.n
        part_b = w * w * b.variance / b.n
        variance += part_a + part_b
        df_denominator += part_a * part_a / (a.n - 1) + part_b * part_b / (b.n - 1)
    if variance <= 0.0 or df_denominator <= 0.0:
        if difference == 0.0:
            return Significance(0.0, 1.0, test, estimate=difference)
        return Significance(math.copysign(math.inf, difference), 0.0, test, estimate=difference)
    t = difference / math.sqrt(variance)  # 4.
    df = variance * variance / df_denominator
    return Significance(t, student_t_two_sided_p(t, df), test, df=df, estimate=difference)


# --- totals and counts per exposure ------------------------------------------------------------


def compound_poisson_rate_test(
    total1: float, total_sq1: float, days1: float, total2: float, total_sq2: float, days2: float
) -> Significance:
    """Is a daily total (billed dollars denied per day) different between two windows? Two-sided.

    1. Model: claims arrive as a Poisson process of rate λ per day, each carrying an amount X; the
       window total S over d days is compound Poisson with Var S = λ d E[X²], estimated by the
       window's Σx² (sum of squared amounts) — no per-claim data needed.
    2. Under "same process in both windows", λE[X²] is estimated from both windows pooled:
       v = (Σx²₁ + Σx²₂) / (d₁ + d₂) per day, like the pooled proportion of the z-test.
    3. z = (S₁/d₁ − S₂/d₂) / √(v (1/d₁ + 1/d₂)), referred to the normal distribution.
    Claims that arrive more regularly than a Poisson process (a steady daily volume) make this
    conservative. ``estimate`` is S₁/d₁ − S₂/d₂."""
    if days1 <= 0 or days2 <= 0:
        raise ValueError("window lengths must be positive")
    estimate = total1 / days1 - total2 / days2
    per_day = (total_sq1 + total_sq2) / (days1 + days2)
    variance = per_day * (1.0 / days1 + 1.0 / days2)
    if variance <= 0.0:
        return Significance(0.0, 1.0, "compound_poisson_z", estimate=estimate)
    z = estimate / math.sqrt(variance)
    return Significance(z, normal_two_sided_p(z), "compound_poisson_z", estimate=estimate)


def poisson_rate_test(count1: int, exposure1: float, count2: int, exposure2: float) -> Significance:
    """Do two Poisson rates differ (count1 per exposure1 vs count2 per exposure2)? Two-sided, exact.

    The conditional test of ``poisson_rate_increase_test`` (count1 ~ Binomial(n, π) given the
    total n, π = exposure1 / (exposure1 + exposure2)), two-sided by doubling the smaller tail:
    p = min(1, 2·min(P(X ≥ count1), P(X ≤ count1))). ``estimate`` is the difference of rates."""
    if count1 < 0 or count2 < 0 or exposure1 <= 0 or exposure2 <= 0:
        raise ValueError("counts must be non-negative and exposures positive")
    estimate = count1 / exposure1 - count2 / exposure2
    n = count1 + count2
    if n == 0:
        return Significance(0.0, 1.0, "poisson_exact", estimate=estimate)
    pi = exposure1 / (exposure1 + exposure2)
    upper = binomial_sf(count1, n, pi)
    lower = 1.0 - binomial_sf(count1 + 1, n, pi)
    p = min(1.0, 2.0 * min(upper, lower))
    return Significance(count1 - n * pi, _clamp(p), "poisson_exact", estimate=estimate)


def daily_total_test(
    count1: int,
    total1: float,
    total_sq1: float,
    days1: float,
    count2: int,
    total2: float,
    total_sq2: float,
    days2: float,
    *,
    min_expected: float = 10.0,
) -> Significance:
    """Is a daily total (billed dollars denied per day) different between two windows? Chooses:

    - ``compound_poisson_rate_test`` when, if both windows shared one daily rate of events, each
      would expect at least ``min_expected`` of them ((count1 + count2) · dᵢ / (d₁ + d₂));
    - else the exact ``poisson_rate_test`` on the counts alone. With a handful of events the
      window total is dominated by how many there were, and its distribution is far too skewed
      for the normal approximation: simulated stable payers with 3–8 denials in a 14-day window
      gave p < 0.001 more than twice as often as they should; the exact count test (conservative)
      did not.
    ``estimate`` is always the difference of daily totals; ``test`` names the test used."""
    n = count1 + count2
    expected = min(n * days1, n * days2) / (days1 + days2)
    estimate = total1 / days1 - total2 / days2
    if expected >= min_expected:
        return compound_poisson_rate_test(total1, total_sq1, days1, total2, total_sq2, days2)
    result = poisson_rate_test(count1, days1, count2, days2)
    return Significance(result.statistic, result.p_value, result.test, estimate=estimate)


def poisson_rate_increase_test(
    count1: int, exposure1: float, count2: int, exposure2: float
) -> Significance:
    """Is count1 per exposure1 *higher* than count2 per exposure2? One-sided, exact.

    Used for a denial reason: count = denials with that reason, exposure = all denials of the
    window, so a reason absent from the baseline (count2 = 0) is handled exactly.

    1. Conditional on the total n = count1 + count2, and if both rates are equal, count1 is
       Binomial(n, π) with π = exposure1 / (exposure1 + exposure2) (the classical exact test of
       two Poisson rates; it needs no estimate of the common rate).
    2. p = P(X ≥ count1) = I_π(count1, n − count1 + 1). With count2 = 0 that is π^count1: three
       occurrences now, none before, over a 14-day and a 90-day window of equal daily volume give
       p = (14/104)³ ≈ 0.0024.
    The test needs no prior; a baseline that never saw the reason gets one only for the effect
    size (``smoothed_share``). ``estimate`` is count1/exposure1 − count2/exposure2."""
    if count1 < 0 or count2 < 0 or exposure1 < 0 or exposure2 < 0:
        raise ValueError("counts and exposures must be non-negative")
    rate1 = count1 / exposure1 if exposure1 else 0.0
    rate2 = count2 / exposure2 if exposure2 else 0.0
    if exposure1 <= 0 or exposure2 <= 0 or count1 == 0:
        return Significance(0.0, 1.0, "poisson_exact_one_sided", estimate=rate1 - rate2)
    pi = exposure1 / (exposure1 + exposure2)
    n = count1 + count2
    p = binomial_sf(count1, n, pi)
    return Significance(
        count1 - n * pi, _clamp(p), "poisson_exact_one_sided", estimate=rate1 - rate2
    )


def smoothed_share(count: int, total: int, prior: float = 0.5) -> float:
    """A share with a small prior: (count + prior) / (total + 2·prior). With the default ½ (the
    Jeffreys prior) a reason never seen among 200 baseline denials gets 0.5/201 ≈ 0.25 %, not 0,
    so its relative change and severity stay finite."""
    return (count + prior) / (total + 2.0 * prior)


# --- multiple testing -------------------------------------------------------------------------


def benjamini_hochberg(p_values: Sequence[float], q: float = 0.05) -> list[bool]:
    """Which hypotheses to reject so that the expected share of false discoveries among the
    rejections is at most ``q`` (Benjamini & Hochberg 1995; valid for independent or positively
    dependent tests). Returns one bool per p-value, in the given order.

    1. m = the number of p-values (a NaN counts as 1). Sort them: p₍₁₎ ≤ p₍₂₎ ≤ … ≤ p₍ₘ₎.
    2. Find the largest k with p₍ₖ₎ ≤ k·q/m.
    3. Reject the hypotheses of p₍₁₎ … p₍ₖ₎ — all of them, even one above its own threshold
       i·q/m (it is a step-up procedure) — and ties with p₍ₖ₎. No such k: reject none.
    Raising q never un-rejects anything; with q < 1, p-values of 1 are never rejected."""
    if not 0.0 < q <= 1.0:
        raise ValueError("q must be in (0, 1]")
    values = [1.0 if math.isnan(p) else p for p in p_values]
    m = len(values)
    ordered = sorted(values)  # 1.
    threshold = None
    for i in range(m, 0, -1):  # 2.
        if ordered[i - 1] <= i * q / m:
            threshold = ordered[i - 1]
            break
    if threshold is None:
        return [False] * m
    return [p <= threshold for p in values]  # 3.


def benjamini_hochberg_adjusted(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values ("q-values"), in the given order: q₍ᵢ₎ = minⱼ≥ᵢ m·p₍ⱼ₎/j, capped at 1.
    A hypothesis is rejected by ``benjamini_hochberg(p, q)`` exactly when its adjusted value ≤ q."""
    values = [1.0 if math.isnan(p) else p for p in p_values]
    m = len(values)
    order = sorted(range(m), key=values.__getitem__)
    adjusted = [1.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        index = order[rank - 1]
        running = min(running, values[index] * m / rank)
        adjusted[index] = min(1.0, running)
    return adjusted
