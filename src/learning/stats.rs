//! Statistical tests, intervals and the Benjamini–Hochberg correction, checked against
//! scipy (`tools/scipy_reference.py` prints the reference table of
//! `tests/learning_stats.rs`; agreement is within 1e-9, absolute or relative).
//!
//! Everything is a pure function. Invalid input (too few values, a probability outside
//! its range, a non-finite value, zero variance where a test needs spread) is a
//! [`StatsError`]; no function panics or returns NaN.
//!
//! Special functions (regularized incomplete beta, log-gamma, erfc) come from `statrs`;
//! the tests, tails and quantiles are written here so that their conventions are exactly
//! scipy's:
//!
//! | here | scipy |
//! |---|---|
//! | [`normal_cdf`], [`normal_quantile`] | `norm.cdf`, `norm.ppf` |
//! | [`t_cdf`], [`t_quantile`] | `t.cdf`, `t.ppf` |
//! | [`t_test_one_sample`] | `ttest_1samp(x, mu)` and `.confidence_interval(level)` |
//! | [`welch_t_test`] | `ttest_ind(x, y, equal_var=False)` and `.confidence_interval(level)` |
//! | [`binomial_test`] | `binomtest(k, n, p, alternative).pvalue` |
//! | [`wilson_interval`] | `binomtest(k, n).proportion_ci(level, method='wilson')` |
//! | [`fisher_exact`] | `fisher_exact([[a, b], [c, d]], alternative).pvalue` |
//! | [`sign_test`] | `binomtest(plus, plus + minus, 0.5, alternative).pvalue` |
//! | [`benjamini_hochberg`] | `false_discovery_control(p, method='bh')` |
//! | [`bca_interval`] | `bootstrap((x,), np.mean, method='BCa', bootstrap_result=…)` given the same resampled means |
//! | [`bootstrap_mean`] | the resampled means of [`bootstrap_means`] (a seeded SplitMix64), then [`bca_interval`] |

use statrs::function::{beta::beta_reg, erf::erfc, erf::erfc_inv, gamma::ln_gamma};

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("needs at least {needed} values, got {got}")]
    TooFew { needed: usize, got: usize },
    #[error("a value is not a finite number")]
    NotFinite,
    #[error("the values have no spread (zero variance)")]
    ZeroVariance,
    #[error("a probability or level must lie strictly between 0 and 1, got {0}")]
    BadProbability(f64),
    #[error("degrees of freedom must be positive, got {0}")]
    BadDegreesOfFreedom(f64),
    #[error("{successes} successes out of {trials} trials is impossible")]
    BadCount { successes: u64, trials: u64 },
    #[error("a table of counts must have a positive total")]
    EmptyTable,
}

/// The alternative hypothesis of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alternative {
    TwoSided,
    /// The statistic (proportion, odds ratio, mean) is greater than under the null.
    Greater,
    /// … is less than under the null.
    Less,
}

/// A two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ci {
    pub low: f64,
    pub high: f64,
}

/// A t-test's result.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TTest {
    /// The t statistic.
    pub t: f64,
    /// Degrees of freedom (Welch–Satterthwaite for [`welch_t_test`]).
    pub df: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// The estimate: the mean (one sample) or the difference of means (two samples).
    pub estimate: f64,
    /// Two-sided confidence interval of the estimate at the requested level.
    pub ci: Ci,
}

/// Standard normal distribution function Φ(x).
pub fn normal_cdf(x: f64) -> Result<f64, StatsError> {
    if x.is_nan() {
        return Err(StatsError::NotFinite);
    }
    Ok(0.5 * erfc(-x / std::f64::consts::SQRT_2))
}

/// Standard normal quantile Φ⁻¹(p), `0 < p < 1`.
pub fn normal_quantile(p: f64) -> Result<f64, StatsError> {
    check_open_probability(p)?;
    // Φ⁻¹(p) = −√2 · erfc⁻¹(2p), then one Newton step on Φ to polish the last digits.
    let x = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p);
    Ok(polish_normal(x, p))
}

fn polish_normal(x: f64, p: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let density = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    if density < 1e-300 {
        return x;
    }
    // Work on the smaller tail so the difference keeps its relative precision.
    let (tail, target) = if x < 0.0 {
        (0.5 * erfc(-x / std::f64::consts::SQRT_2), p)
    } else {
        (0.5 * erfc(x / std::f64::consts::SQRT_2), 1.0 - p)
    };
    let step = (tail - target) / density;
    if x < 0.0 { x - step } else { x + step }
}

/// Student's t distribution function with `df > 0` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> Result<f64, StatsError> {
    check_df(df)?;
    if t.is_nan() {
        return Err(StatsError::NotFinite);
    }
    let lower_tail = t_tail(t.abs(), df);
    Ok(if t < 0.0 {
        lower_tail
    } else {
        1.0 - lower_tail
    })
}

/// P(T > |t|) for T ~ t(df), computed directly so that tiny tails keep their precision.
fn t_tail(t_abs: f64, df: f64) -> f64 {
    if t_abs.is_infinite() {
        return 0.0;
    }
    if t_abs == 0.0 {
        return 0.5;
    }
    // P(|T| > t) = I_x(df/2, 1/2) with x = df / (df + t²).
    let t2 = t_abs * t_abs;
    let x = df / (df + t2);
    if x < 1.0 {
        0.5 * beta_reg(df / 2.0, 0.5, x)
    } else {
        // t² negligible against df: the beta function cannot resolve it; 1 − I_{1−x}(½, df/2)
        // with 1 − x computed without cancellation.
        let y = t2 / (df + t2);
        0.5 * (1.0 - beta_reg(0.5, df / 2.0, y))
    }
}

fn t_density(t: f64, df: f64) -> f64 {
    let ln = ln_gamma((df + 1.0) / 2.0)
        - ln_gamma(df / 2.0)
        - 0.5 * (df * std::f64::consts::PI).ln()
        - (df + 1.0) / 2.0 * (t * t / df).ln_1p();
    ln.exp()
}

/// Student's t quantile: the `t` with `t_cdf(t, df) = p`, `0 < p < 1`, `df > 0`.
pub fn t_quantile(p: f64, df: f64) -> Result<f64, StatsError> {
    check_open_probability(p)?;
    check_df(df)?;
    if p == 0.5 {
        return Ok(0.0);
    }
    // Solve on the smaller tail q = min(p, 1 − p): find t ≥ 0 with P(T > t) = q.
    let q = p.min(1.0 - p);
    let t = upper_tail_inverse(q, df);
    Ok(if p < 0.5 { -t } else { t })
}

fn upper_tail_inverse(q: f64, df: f64) -> f64 {
    // Bracket [lo, hi] with tail(lo) ≥ q ≥ tail(hi), then safeguarded Newton steps.
    let mut lo = 0.0_f64;
    let mut hi = 1.0_f64;
    while t_tail(hi, df) > q {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::MAX;
        }
    }
    // A normal-based start inside the bracket.
    let z = -std::f64::consts::SQRT_2 * erfc_inv(2.0 * q);
    let mut t = if z > lo && z < hi { z } else { 0.5 * (lo + hi) };
    for _ in 0..200 {
        let f = t_tail(t, df) - q;
        if f > 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let density = t_density(t, df);
        let mut next = t + f / density;
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        if (next - t).abs() <= 1e-15 * t.abs().max(1e-300) || hi - lo <= 1e-15 * hi {
            return next;
        }
        t = next;
    }
    t
}

/// One-sample t-test of the mean of `x` against `mu`, with the two-sided confidence
/// interval of the mean at `level` (e.g. 0.95). Needs two values and some spread.
pub fn t_test_one_sample(x: &[f64], mu: f64, level: f64) -> Result<TTest, StatsError> {
    check_open_probability(level)?;
    check_finite(x)?;
    if !mu.is_finite() {
        return Err(StatsError::NotFinite);
    }
    let n = x.len();
    if n < 2 {
        return Err(StatsError::TooFew { needed: 2, got: n });
    }
    let (mean, var) = mean_var(x);
    if var == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let df = (n - 1) as f64;
    let se = (var / n as f64).sqrt();
    let t = (mean - mu) / se;
    let p_value = (2.0 * t_tail(t.abs(), df)).min(1.0);
    let q = t_quantile(0.5 + level / 2.0, df)?;
    Ok(TTest {
        t,
        df,
        p_value,
        estimate: mean,
        ci: Ci {
            low: mean - q * se,
            high: mean + q * se,
        },
    })
}

/// Welch's two-sample t-test (unequal variances) of mean(x) − mean(y), with the two-sided
/// confidence interval of the difference at `level`. Each sample needs two values; at
/// least one needs spread.
pub fn welch_t_test(x: &[f64], y: &[f64], level: f64) -> Result<TTest, StatsError> {
    check_open_probability(level)?;
    check_finite(x)?;
    check_finite(y)?;
    for s in [x, y] {
        if s.len() < 2 {
            return Err(StatsError::TooFew {
                needed: 2,
                got: s.len(),
            });
        }
    }
    let (mx, vx) = mean_var(x);
    let (my, vy) = mean_var(y);
    let (ax, ay) = (vx / x.len() as f64, vy / y.len() as f64);
    let se2 = ax + ay;
    if se2 == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let df = se2 * se2 / (ax * ax / (x.len() - 1) as f64 + ay * ay / (y.len() - 1) as f64);
    let se = se2.sqrt();
    let d = mx - my;
    let t = d / se;
    let p_value = (2.0 * t_tail(t.abs(), df)).min(1.0);
    let q = t_quantile(0.5 + level / 2.0, df)?;
    Ok(TTest {
        t,
        df,
        p_value,
        estimate: d,
        ci: Ci {
            low: d - q * se,
            high: d + q * se,
        },
    })
}

/// Exact binomial test of `k` successes in `n` trials against success probability `p`
/// (`0 < p < 1`). Two-sided exactly as scipy: the probability of all outcomes no more
/// likely than the observed one (with scipy's relative tolerance of 1e-7).
pub fn binomial_test(k: u64, n: u64, p: f64, alternative: Alternative) -> Result<f64, StatsError> {
    check_open_probability(p)?;
    if n == 0 || k > n {
        return Err(StatsError::BadCount {
            successes: k,
            trials: n,
        });
    }
    let pmf = |i: u64| binomial_pmf(i, n, p);
    let pv = match alternative {
        Alternative::Less => sum_range(0, k, pmf),
        Alternative::Greater => sum_range(k, n, pmf),
        Alternative::TwoSided => {
            let expected = p * n as f64;
            if k as f64 == expected {
                1.0
            } else {
                let bound = pmf(k) * (1.0 + 1e-7);
                let mode = ((n + 1) as f64 * p).floor().min(n as f64) as u64;
                sum_at_most(0, n, mode, bound, pmf)
            }
        }
    };
    Ok(pv.clamp(0.0, 1.0))
}

/// Wilson score interval of the proportion `k / n` at `level` (two-sided, no continuity
/// correction).
pub fn wilson_interval(k: u64, n: u64, level: f64) -> Result<Ci, StatsError> {
    check_open_probability(level)?;
    if n == 0 || k > n {
        return Err(StatsError::BadCount {
            successes: k,
            trials: n,
        });
    }
    let z = normal_quantile(0.5 + 0.5 * level)?;
    let nf = n as f64;
    let p = k as f64 / nf;
    let q = 1.0 - p;
    let denom = 2.0 * (nf + z * z);
    let center = (2.0 * nf * p + z * z) / denom;
    let d = z * (z * z + 4.0 * nf * p * q).sqrt() / denom;
    Ok(Ci {
        low: (center - d).max(0.0),
        high: (center + d).min(1.0),
    })
}

/// A 2×2 table of counts `[[a, b], [c, d]]` (rows: groups; columns: outcome yes / no).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table2 {
    pub a: u64,
    pub b: u64,
    pub c: u64,
    pub d: u64,
}

impl Table2 {
    /// The sample odds ratio `ad / bc` (infinite when `bc = 0 < ad`; `None` when both are 0).
    pub fn odds_ratio(&self) -> Option<f64> {
        let num = self.a as f64 * self.d as f64;
        let den = self.b as f64 * self.c as f64;
        if num == 0.0 && den == 0.0 {
            None
        } else {
            Some(num / den)
        }
    }
}

/// Fisher's exact test on a 2×2 table. `Greater`: the odds ratio is above 1 (`a` large);
/// two-sided exactly as scipy (all tables with the same margins no more likely than the
/// observed one).
pub fn fisher_exact(t: Table2, alternative: Alternative) -> Result<f64, StatsError> {
    let row1 = t.a + t.b;
    let col1 = t.a + t.c;
    let total = row1 + t.c + t.d;
    if total == 0 {
        return Err(StatsError::EmptyTable);
    }
    // a ~ Hypergeometric(total, row1, col1) given the margins.
    let lo = col1.saturating_sub(total - row1);
    let hi = row1.min(col1);
    let ln_denominator = ln_choose(total, col1);
    let pmf =
        |x: u64| (ln_choose(row1, x) + ln_choose(total - row1, col1 - x) - ln_denominator).exp();
    let pv = match alternative {
        Alternative::Less => sum_range(lo, t.a, pmf),
        Alternative::Greater => sum_range(t.a, hi, pmf),
        Alternative::TwoSided => {
            let mode =
                (((col1 + 1) as f64 * (row1 + 1) as f64) / (total + 2) as f64).floor() as u64;
            let mode = mode.clamp(lo, hi);
            let observed = pmf(t.a);
            let at_mode = pmf(mode);
            if (observed - at_mode).abs() / observed.max(at_mode) <= 1e-14 {
                1.0
            } else {
                sum_at_most(lo, hi, mode, observed * (1.0 + 1e-7), pmf)
            }
        }
    };
    Ok(pv.clamp(0.0, 1.0))
}

/// Sign test: `plus` pairs favour one side, `minus` the other (ties are left out by the
/// caller). The exact binomial test of `plus` in `plus + minus` against ½; `Greater` means
/// more pluses.
pub fn sign_test(plus: u64, minus: u64, alternative: Alternative) -> Result<f64, StatsError> {
    binomial_test(plus, plus + minus, 0.5, alternative)
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input order. Each p must lie
/// in [0, 1].
pub fn benjamini_hochberg(p: &[f64]) -> Result<Vec<f64>, StatsError> {
    if let Some(&bad) = p.iter().find(|v| !(0.0..=1.0).contains(*v)) {
        return Err(if bad.is_finite() {
            StatsError::BadProbability(bad)
        } else {
            StatsError::NotFinite
        });
    }
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    // Stable sort: ties keep input order, so the result is deterministic.
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut q = vec![0.0; m];
    let mut running = 1.0_f64;
    for (rank0, &i) in order.iter().enumerate().rev() {
        let adjusted = p[i] * m as f64 / (rank0 + 1) as f64;
        running = running.min(adjusted);
        q[i] = running.min(1.0);
    }
    Ok(q)
}

/// Mean and unbiased variance (two-pass, for accuracy).
fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let ss: f64 = x.iter().map(|v| (v - mean) * (v - mean)).sum();
    let var = if x.len() > 1 { ss / (n - 1.0) } else { 0.0 };
    (mean, var)
}

fn ln_choose(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

fn binomial_pmf(i: u64, n: u64, p: f64) -> f64 {
    (ln_choose(n, i) + i as f64 * p.ln() + (n - i) as f64 * (-p).ln_1p()).exp()
}

/// Σ pmf(i) for i in [from, to], smallest terms first for accuracy.
fn sum_range(from: u64, to: u64, pmf: impl Fn(u64) -> f64) -> f64 {
    if from > to {
        return 0.0;
    }
    let mut terms: Vec<f64> = (from..=to).map(pmf).collect();
    terms.sort_by(f64::total_cmp);
    terms.iter().sum()
}

/// Σ pmf(i) over [lo, hi] for the terms no larger than `bound`, for a unimodal pmf with
/// its mode at `mode`: each side is walked from its end toward the mode until a term
/// exceeds the bound.
fn sum_at_most(lo: u64, hi: u64, mode: u64, bound: f64, pmf: impl Fn(u64) -> f64) -> f64 {
    let mut terms = Vec::new();
    let mut i = lo;
    while i <= mode.min(hi) {
        let v = pmf(i);
        if v > bound {
            break;
        }
        terms.push(v);
        i += 1;
    }
    let low_stop = i;
    let mut j = hi;
    while j > mode && j >= low_stop {
        let v = pmf(j);
        if v > bound {
            break;
        }
        terms.push(v);
        j -= 1;
    }
    terms.sort_by(f64::total_cmp);
    terms.iter().sum()
}

fn check_open_probability(p: f64) -> Result<(), StatsError> {
    if p.is_finite() && p > 0.0 && p < 1.0 {
        Ok(())
    } else if p.is_nan() {
        Err(StatsError::NotFinite)
    } else {
        Err(StatsError::BadProbability(p))
    }
}

fn check_df(df: f64) -> Result<(), StatsError> {
    if df > 0.0 && !df.is_nan() {
        Ok(())
    } else {
        Err(StatsError::BadDegreesOfFreedom(df))
    }
}

fn check_finite(x: &[f64]) -> Result<(), StatsError> {
    if x.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(StatsError::NotFinite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_quantile_inverts_the_normal_cdf() {
        for p in [1e-12, 0.001, 0.025, 0.3, 0.5, 0.7, 0.975, 0.999] {
            let x = normal_quantile(p).unwrap();
            let back = normal_cdf(x).unwrap();
            assert!(
                (back - p).abs() <= 1e-12 * p.max(1e-3),
                "{p} -> {x} -> {back}"
            );
        }
    }

    #[test]
    fn the_t_quantile_inverts_the_t_cdf() {
        for df in [1.0, 2.5, 10.0, 1000.0] {
            for p in [1e-9, 0.01, 0.2, 0.5, 0.8, 0.995] {
                let t = t_quantile(p, df).unwrap();
                let back = t_cdf(t, df).unwrap();
                assert!(
                    (back - p).abs() <= 1e-11 * p.max(1e-2),
                    "df {df} p {p} t {t} back {back}"
                );
            }
        }
    }

    #[test]
    fn bad_inputs_are_errors_not_nan() {
        assert!(normal_quantile(0.0).is_err());
        assert!(normal_quantile(f64::NAN).is_err());
        assert!(t_cdf(1.0, 0.0).is_err());
        assert!(t_test_one_sample(&[1.0], 0.0, 0.95).is_err());
        assert_eq!(
            t_test_one_sample(&[2.0, 2.0, 2.0], 0.0, 0.95),
            Err(StatsError::ZeroVariance)
        );
        assert!(t_test_one_sample(&[1.0, f64::INFINITY], 0.0, 0.95).is_err());
        assert!(binomial_test(3, 2, 0.5, Alternative::TwoSided).is_err());
        assert!(binomial_test(0, 0, 0.5, Alternative::TwoSided).is_err());
        assert!(binomial_test(1, 2, 1.0, Alternative::TwoSided).is_err());
        assert!(wilson_interval(1, 0, 0.95).is_err());
        assert!(
            fisher_exact(
                Table2 {
                    a: 0,
                    b: 0,
                    c: 0,
                    d: 0
                },
                Alternative::TwoSided
            )
            .is_err()
        );
        assert!(benjamini_hochberg(&[0.5, 1.5]).is_err());
        assert!(benjamini_hochberg(&[f64::NAN]).is_err());
    }
}

// ---------------------------------------------------------------------------------------
// The bootstrap.

/// A small, fixed pseudo-random generator (SplitMix64): resamples and permutations never
/// change with a dependency's version, and `tools/scipy_reference.py` replays it exactly.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by rejection to avoid modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

/// The mean of a sample with a bootstrap confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapMean {
    pub mean: f64,
    /// Two-sided BCa interval at the requested level.
    pub ci: Ci,
    pub resamples: usize,
}

/// The means of `resamples` resamples of `x` (drawn with replacement, `n` values each,
/// indices from [`SplitMix64`] seeded with `seed`, in order).
pub fn bootstrap_means(x: &[f64], resamples: usize, seed: u64) -> Result<Vec<f64>, StatsError> {
    check_finite(x)?;
    if x.is_empty() {
        return Err(StatsError::TooFew { needed: 1, got: 0 });
    }
    let n = x.len();
    let mut rng = SplitMix64(seed);
    Ok((0..resamples)
        .map(|_| {
            let mut sum = 0.0;
            for _ in 0..n {
                sum += x[rng.below(n as u64) as usize];
            }
            sum / n as f64
        })
        .collect())
}

/// The bias-corrected and accelerated (BCa) interval of the mean of `x` at `level`, from
/// the bootstrap distribution `boot` of the mean: Efron & Tibshirani (1993) 14.3, as
/// `scipy.stats.bootstrap(method='BCa')` computes it (bias from the share of resampled
/// means under the sample's, acceleration from the jackknife, quantiles interpolated
/// linearly). Without spread in `x` the interval is the mean itself.
pub fn bca_interval(x: &[f64], boot: &[f64], level: f64) -> Result<Ci, StatsError> {
    check_open_probability(level)?;
    check_finite(x)?;
    check_finite(boot)?;
    if x.len() < 2 {
        return Err(StatsError::TooFew {
            needed: 2,
            got: x.len(),
        });
    }
    if boot.is_empty() {
        return Err(StatsError::TooFew { needed: 1, got: 0 });
    }
    let n = x.len() as f64;
    let theta = x.iter().sum::<f64>() / n;
    if x.iter().all(|v| *v == x[0]) {
        return Ok(Ci {
            low: theta,
            high: theta,
        });
    }
    let b = boot.len() as f64;
    let below = boot.iter().filter(|t| **t < theta).count() as f64;
    let at_most = boot.iter().filter(|t| **t <= theta).count() as f64;
    let z0 = normal_quantile_or_infinite((below + at_most) / (2.0 * b));
    // The jackknife means, and the acceleration from their skewness.
    let total: f64 = x.iter().sum();
    let jack: Vec<f64> = x.iter().map(|v| (total - v) / (n - 1.0)).collect();
    let jack_mean = jack.iter().sum::<f64>() / n;
    let u: Vec<f64> = jack.iter().map(|t| (n - 1.0) * (jack_mean - t)).collect();
    let num = u.iter().map(|v| v.powi(3)).sum::<f64>() / n.powi(3);
    let den = u.iter().map(|v| v * v).sum::<f64>() / n.powi(2);
    let a = num / den.powf(1.5) / 6.0;
    let alpha = (1.0 - level) / 2.0;
    let z_alpha = normal_quantile(alpha)?;
    let adjusted = |z: f64| -> Result<f64, StatsError> {
        let s = z0 + z;
        normal_cdf(z0 + s / (1.0 - a * s))
    };
    let (p_low, p_high) = (adjusted(z_alpha)?, adjusted(-z_alpha)?);
    let mut sorted = boot.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ci = Ci {
        low: linear_quantile(&sorted, p_low),
        high: linear_quantile(&sorted, p_high),
    };
    if ci.low.is_finite() && ci.high.is_finite() {
        Ok(ci)
    } else {
        // A degenerate bootstrap distribution: the plain percentile interval.
        Ok(Ci {
            low: linear_quantile(&sorted, alpha),
            high: linear_quantile(&sorted, 1.0 - alpha),
        })
    }
}

/// The seeded bootstrap of the mean of `x` with its BCa interval at `level`.
pub fn bootstrap_mean(
    x: &[f64],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Result<BootstrapMean, StatsError> {
    if resamples == 0 {
        return Err(StatsError::TooFew { needed: 1, got: 0 });
    }
    let boot = bootstrap_means(x, resamples, seed)?;
    let ci = bca_interval(x, &boot, level)?;
    Ok(BootstrapMean {
        mean: x.iter().sum::<f64>() / x.len() as f64,
        ci,
        resamples,
    })
}

/// Φ⁻¹(p), with p = 0 and p = 1 giving −∞ and +∞ (all resampled means on one side).
fn normal_quantile_or_infinite(p: f64) -> f64 {
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else {
        normal_quantile(p).unwrap_or(f64::NAN)
    }
}

/// The `p` quantile of sorted values, interpolated linearly between order statistics
/// (numpy's and scipy's default, `method='linear'`).
fn linear_quantile(sorted: &[f64], p: f64) -> f64 {
    if !p.is_finite() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let j = h.floor() as usize;
    let g = h - j as f64;
    match sorted.get(j + 1) {
        Some(next) if g > 0.0 => sorted[j] + g * (next - sorted[j]),
        _ => sorted[j],
    }
}
