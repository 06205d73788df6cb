//! Detection: the statistics over items that find each pattern key, the
//! Benjamini–Hochberg correction across them, and the checks of overlapping
//! explanations against each other.

use std::collections::BTreeSet;

use chrono::Weekday;

use super::super::stats::{self, Alternative, SplitMix64, Table2};
use super::words;
use super::{
    Detection, EffectUnit, Interval, IvMeasure, Pattern, PatternConfig, PatternKey, TestRecord,
    contract_change_pct, is_opening, is_recommended, is_taken, otm_strike_shift_pct,
};
use crate::domain::{MatchType, Money, ReasonCode};
use crate::learning::{Item, RecFacts};

/// Runs the catalog over `items` (the look-back window; nothing is filtered by date) and
/// returns the reported patterns. Same input, same output, in any item order.
pub fn detect(items: &[Item], cfg: &PatternConfig) -> Vec<Pattern> {
    run(items, cfg).patterns
}

/// [`detect`], with every test of the run and its p- and q-value.
pub fn run(items: &[Item], cfg: &PatternConfig) -> Detection {
    let mut sorted: Vec<&Item> = items.iter().collect();
    // Item order must not matter: everything below walks items by match id.
    sorted.sort_by_key(|i| i.match_id);

    let evals: Vec<Eval> = specs(&sorted, cfg)
        .iter()
        .filter_map(|spec| evaluate(spec, &sorted, cfg))
        .collect();
    let p: Vec<f64> = evals.iter().map(|e| e.p_value).collect();
    let q = stats::benjamini_hochberg(&p).unwrap_or_else(|_| vec![1.0; p.len()]);

    let mut reported = vec![false; evals.len()];
    for (i, e) in evals.iter().enumerate() {
        reported[i] = q[i] <= cfg.fdr && e.relevant;
    }
    explain_away(&evals, &mut reported, &sorted, cfg);

    let tests = evals
        .iter()
        .zip(&q)
        .zip(&reported)
        .map(|((e, &q), &reported)| TestRecord {
            key: e.key,
            subject: e.subject.clone(),
            n: e.n,
            p_value: e.p_value,
            q_value: q,
            reported,
        })
        .collect();
    let patterns = evals
        .into_iter()
        .zip(q)
        .zip(reported)
        .filter(|(_, reported)| *reported)
        .map(|((e, q), _)| e.into_pattern(q))
        .collect();
    Detection { patterns, tests }
}

/// One test to run.
#[derive(Debug, Clone, PartialEq)]
enum Spec {
    DteShift,
    StrikeShift,
    LowPremium,
    Symbol(String),
    LowIv(IvMeasure),
    Earnings,
    ContractReduction,
    Weekday(Weekday),
    Band(u32, u32),
    Reason(ReasonCode),
}

/// Which items a rejection pattern explains (for checking patterns against each other).
#[derive(Debug, Clone, PartialEq)]
enum Cover {
    PremiumBelow(Money),
    IvBelow(IvMeasure, f64),
    Symbol(String),
    SpansEarnings,
    Weekday(Weekday),
    Band(u32, u32),
}

/// Patterns that explain each other's items (besides the rejection patterns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Weekday,
    Band,
}

fn family_of(spec: &Spec) -> Option<Family> {
    match spec {
        Spec::Weekday(_) => Some(Family::Weekday),
        Spec::Band(..) => Some(Family::Band),
        _ => None,
    }
}

impl Cover {
    fn covers(&self, item: &Item) -> bool {
        let Some(rec) = item.rec.as_ref() else {
            return false;
        };
        match self {
            Cover::PremiumBelow(t) => is_opening(item) && rec.premium < *t,
            Cover::IvBelow(m, t) => is_opening(item) && m.value(item).is_some_and(|v| v < *t),
            Cover::Symbol(s) => item.underlying.as_str() == s,
            Cover::SpansEarnings => is_opening(item) && rec.spans_earnings(),
            Cover::Weekday(w) => rec.session_weekday() == *w,
            Cover::Band(a, b) => rec.session_hour().is_some_and(|h| (*a..*b).contains(&h)),
        }
    }
}

/// A test's result before the multiple-testing correction.
#[derive(Debug, Clone)]
struct Eval {
    spec: Spec,
    key: PatternKey,
    subject: Option<String>,
    n: usize,
    effect: f64,
    unit: EffectUnit,
    baseline: Option<f64>,
    ci: Option<Interval>,
    p_value: f64,
    /// A parametric p-value used only to order overlapping patterns (permutation
    /// p-values tie at their floor).
    strength: f64,
    test: &'static str,
    relevant: bool,
    description: String,
    threshold: Option<Money>,
    threshold_value: Option<f64>,
    match_ids: Vec<i64>,
    cover: Option<Cover>,
}

impl Eval {
    fn into_pattern(self, q_value: f64) -> Pattern {
        Pattern {
            key: self.key,
            subject: self.subject,
            description: self.description,
            n: self.n,
            effect: self.effect,
            unit: self.unit,
            baseline: self.baseline,
            ci: self.ci,
            p_value: self.p_value,
            q_value,
            test: self.test,
            threshold: self.threshold,
            threshold_value: self.threshold_value,
            match_ids: self.match_ids,
        }
    }
}

const LEVEL: f64 = 0.95;

/// Every test of the catalog the items allow, in report order.
fn specs(items: &[&Item], cfg: &PatternConfig) -> Vec<Spec> {
    let mut out = vec![Spec::DteShift, Spec::StrikeShift, Spec::LowPremium];
    let symbols: BTreeSet<&str> = items
        .iter()
        .filter(|i| is_opening(i))
        .map(|i| i.underlying.as_str())
        .collect();
    out.extend(symbols.into_iter().map(|s| Spec::Symbol(s.to_owned())));
    // The IV measure with more values (IV rank on a tie: it is comparable across symbols).
    let ranks = items
        .iter()
        .filter(|i| IvMeasure::IvRank.value(i).is_some())
        .count();
    let ivs = items
        .iter()
        .filter(|i| IvMeasure::Iv.value(i).is_some())
        .count();
    out.push(Spec::LowIv(if ranks >= ivs {
        IvMeasure::IvRank
    } else {
        IvMeasure::Iv
    }));
    out.push(Spec::Earnings);
    out.push(Spec::ContractReduction);
    out.extend(
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ]
        .map(Spec::Weekday),
    );
    out.extend(cfg.hour_bands.iter().map(|&(a, b)| Spec::Band(a, b)));
    out.extend(ReasonCode::ALL.iter().map(|&c| Spec::Reason(c)));
    out
}

fn evaluate(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    match spec {
        Spec::DteShift => shift_test(spec, items, cfg, |i| i.dte_diff.map(|d| d as f64)),
        Spec::StrikeShift => shift_test(spec, items, cfg, otm_strike_shift_pct),
        Spec::ContractReduction => shift_test(spec, items, cfg, contract_change_pct),
        Spec::LowPremium => threshold_test(spec, items, cfg),
        Spec::LowIv(_) => threshold_test(spec, items, cfg),
        Spec::Symbol(_) | Spec::Earnings => group_rejection_test(spec, items, cfg),
        Spec::Weekday(_) | Spec::Band(..) => divergence_rate_test(spec, items, cfg),
        Spec::Reason(code) => reason_test(*code, items, cfg),
    }
}

/// DTE, strike and size: a sign test on the non-zero differences of taken
/// recommendations; the effect is their mean, with a t interval.
fn shift_test(
    spec: &Spec,
    items: &[&Item],
    cfg: &PatternConfig,
    diff: impl Fn(&Item) -> Option<f64>,
) -> Option<Eval> {
    // A consent may come without differences: it has none.
    let taken: Vec<(&Item, f64)> = items
        .iter()
        .filter(|i| is_taken(i))
        .filter_map(|i| {
            diff(i)
                .or((i.match_type == MatchType::Consent).then_some(0.0))
                .filter(|d| d.is_finite())
                .map(|d| (*i, d))
        })
        .collect();
    let changed: Vec<(&Item, f64)> = taken.iter().copied().filter(|(_, d)| *d != 0.0).collect();
    if changed.len() < cfg.min_samples.max(1) {
        return None;
    }
    let values: Vec<f64> = changed.iter().map(|(_, d)| *d).collect();
    let plus = values.iter().filter(|d| **d > 0.0).count() as u64;
    let minus = values.len() as u64 - plus;
    let p_value = stats::sign_test(plus, minus, Alternative::TwoSided).ok()?;
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let ci = stats::t_test_one_sample(&values, 0.0, LEVEL)
        .ok()
        .map(|t| Interval {
            low: t.ci.low,
            high: t.ci.high,
            level: LEVEL,
        });
    let share = changed.len() as f64 / taken.len() as f64;
    let (changed_n, taken_n) = (changed.len(), taken.len());
    let (key, unit, relevant, description) = match spec {
        Spec::DteShift => (
            PatternKey::DteShift,
            EffectUnit::Days,
            mean.abs() >= cfg.min_dte_shift_days,
            words::dte_shift(mean, changed_n, taken_n),
        ),
        Spec::StrikeShift => (
            PatternKey::StrikeShift,
            EffectUnit::Percent,
            mean.abs() >= cfg.min_strike_shift_pct,
            words::strike_shift(mean, changed_n, taken_n),
        ),
        _ => (
            PatternKey::ContractReduction,
            EffectUnit::Percent,
            -mean >= cfg.min_contract_reduction_pct,
            words::contract_change(mean, changed_n, taken_n),
        ),
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject: None,
        n: changed.len(),
        effect: mean,
        unit,
        baseline: None,
        ci,
        p_value,
        strength: p_value,
        test: "sign test (two-sided)",
        relevant: relevant && share >= cfg.min_modified_share,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: changed.iter().map(|(i, _)| i.match_id).collect(),
        cover: None,
    })
}

/// Exceedances after which a permutation test stops (Besag–Clifford).
const SEQUENTIAL_HITS: usize = 10;

/// Low premium / low IV: the cut that best separates rejected from taken opening
/// recommendations (largest one-sided two-proportion z), with a permutation p-value of
/// that maximum so that searching the cut does not inflate significance.
fn threshold_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let value = |i: &Item| -> Option<f64> {
        match spec {
            Spec::LowIv(m) => m.value(i),
            _ => i.rec.as_ref().map(|r| r.premium.units() as f64),
        }
    };
    let mut pop: Vec<(f64, bool, &Item)> = items
        .iter()
        .filter(|i| is_opening(i))
        .filter_map(|i| value(i).map(|v| (v, i.match_type == MatchType::Reject, *i)))
        .collect();
    let min_side = cfg.min_cut_side.max(1);
    let rejected = pop.iter().filter(|p| p.1).count();
    if pop.len() < 2 * cfg.min_samples.max(min_side) || rejected == 0 || rejected == pop.len() {
        return None;
    }
    pop.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.match_id.cmp(&b.2.match_id)));
    let values: Vec<f64> = pop.iter().map(|p| p.0).collect();
    // Cuts: positions between distinct values leaving at least `min_side` on each side.
    let cuts: Vec<usize> = (min_side..=pop.len() - min_side)
        .filter(|&c| values[c - 1] < values[c])
        .collect();
    if cuts.is_empty() {
        return None;
    }
    let labels: Vec<bool> = pop.iter().map(|p| p.1).collect();
    let (best_cut, observed) = max_z(&labels, &cuts);
    if observed <= 0.0 {
        return None;
    }
    let salt = match spec {
        Spec::LowIv(_) => 0x1f,
        _ => 0x9e,
    };
    let mut rng = SplitMix64(cfg.seed ^ salt);
    let mut perm = labels.clone();
    // Sequential Monte Carlo p-value (Besag & Clifford 1991): stop once `h` permutations
    // reach the observed maximum, p = h / k after k permutations; otherwise all of them
    // run and p = (hits + 1) / (B + 1). Valid either way, and a clearly unremarkable cut
    // (most accounts, most weeks) costs a few dozen permutations instead of thousands.
    let mut at_least = 0usize;
    let mut p_value = None;
    for k in 1..=cfg.permutations {
        shuffle(&mut perm, &mut rng);
        if max_z(&perm, &cuts).1 >= observed - 1e-12 {
            at_least += 1;
            if at_least == SEQUENTIAL_HITS {
                p_value = Some(at_least as f64 / k as f64);
                break;
            }
        }
    }
    let p_value = p_value.unwrap_or((at_least + 1) as f64 / (cfg.permutations + 1) as f64);

    let below = &labels[..best_cut];
    let above = &labels[best_cut..];
    let rej_below = below.iter().filter(|b| **b).count() as u64;
    let rej_above = above.iter().filter(|b| **b).count() as u64;
    let rate_below = rej_below as f64 / below.len() as f64;
    let rate_above = rej_above as f64 / above.len() as f64;
    let strength = stats::fisher_exact(
        Table2 {
            a: rej_below,
            b: below.len() as u64 - rej_below,
            c: rej_above,
            d: above.len() as u64 - rej_above,
        },
        Alternative::Greater,
    )
    .ok()?;
    let ci = stats::wilson_interval(rej_below, below.len() as u64, LEVEL)
        .ok()
        .map(|c| Interval {
            low: 100.0 * c.low,
            high: 100.0 * c.high,
            level: LEVEL,
        });
    let mid = (values[best_cut - 1] + values[best_cut]) / 2.0;
    let relevant =
        rate_below - rate_above >= cfg.min_rate_difference && rate_below >= 0.5 && rej_below >= 3;
    let match_ids = pop[..best_cut]
        .iter()
        .filter(|p| p.1)
        .map(|p| p.2.match_id)
        .collect();
    let (key, subject, threshold, threshold_value, description, cover) = match spec {
        Spec::LowIv(m) => {
            let t = words::round1(mid);
            (
                PatternKey::LowIvRejection,
                Some(m.subject().to_owned()),
                None,
                Some(t),
                words::rejects_low_iv(m.label(), t, rej_below, below.len()),
                Cover::IvBelow(*m, values[best_cut]),
            )
        }
        _ => {
            let t = Money::from_units(mid.round() as i64).round_to_cents();
            (
                PatternKey::LowPremiumRejection,
                None,
                Some(t),
                None,
                words::rejects_low_premium(t, rej_below, below.len()),
                // The items under the cut exactly (the rounded threshold may sit a
                // fraction of a cent off).
                Cover::PremiumBelow(Money::from_units(values[best_cut] as i64)),
            )
        }
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject,
        n: pop.len(),
        effect: 100.0 * rate_below,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * rate_above),
        ci,
        p_value,
        strength,
        test: "permutation test of the best cut (max statistic)",
        relevant,
        description,
        threshold,
        threshold_value,
        match_ids,
        cover: Some(cover),
    })
}

/// The largest one-sided two-proportion z (rejections below the cut minus above) over
/// the cuts, and the cut where it is reached (the first on ties).
fn max_z(labels: &[bool], cuts: &[usize]) -> (usize, f64) {
    let n = labels.len() as f64;
    let total: usize = labels.iter().filter(|b| **b).count();
    let pooled = total as f64 / n;
    let spread = pooled * (1.0 - pooled);
    let mut best = (cuts[0], f64::NEG_INFINITY);
    let mut below_rej = 0usize;
    let mut pos = 0usize;
    for &c in cuts {
        while pos < c {
            below_rej += usize::from(labels[pos]);
            pos += 1;
        }
        let (n1, n2) = (c as f64, n - c as f64);
        let z = if spread > 0.0 {
            let p1 = below_rej as f64 / n1;
            let p2 = (total - below_rej) as f64 / n2;
            (p1 - p2) / (spread * (1.0 / n1 + 1.0 / n2)).sqrt()
        } else {
            0.0
        };
        if z > best.1 {
            best = (c, z);
        }
    }
    best
}

/// Symbol and earnings: is the group avoided more than the rest of the opening
/// recommendations? Fisher's exact test, one-sided.
fn group_rejection_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let pop: Vec<&Item> = items.iter().copied().filter(|i| is_opening(i)).collect();
    let in_group = |i: &Item| match spec {
        Spec::Symbol(s) => i.underlying.as_str() == s,
        _ => i.rec.as_ref().is_some_and(RecFacts::spans_earnings),
    };
    let avoided = |i: &Item| match spec {
        Spec::Symbol(_) => i.match_type == MatchType::Reject,
        _ => avoids_earnings(i),
    };
    let (group, rest): (Vec<&Item>, Vec<&Item>) = pop.iter().copied().partition(|i| in_group(i));
    if group.len() < cfg.min_samples.max(1) || rest.is_empty() {
        return None;
    }
    let RateTest {
        a,
        rate,
        base,
        p_value,
        ci,
    } = rate_test(&group, &rest, avoided, Alternative::Greater)?;
    let (key, subject, description, cover) = match spec {
        Spec::Symbol(s) => (
            PatternKey::SymbolRejection,
            Some(s.clone()),
            words::avoids_symbol(s, a, group.len()),
            Cover::Symbol(s.clone()),
        ),
        _ => (
            PatternKey::EarningsAvoidance,
            None,
            words::avoids_earnings(a, group.len()),
            Cover::SpansEarnings,
        ),
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject,
        n: group.len(),
        effect: 100.0 * rate,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * base),
        ci,
        p_value,
        strength: p_value,
        test: "Fisher exact test (one-sided)",
        relevant: rate - base >= cfg.min_rate_difference && rate >= 0.5,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: group
            .iter()
            .filter(|i| avoided(i))
            .map(|i| i.match_id)
            .collect(),
        cover: Some(cover),
    })
}

/// A group's rate of `hit` against the rest's.
struct RateTest {
    /// Hits in the group.
    a: u64,
    rate: f64,
    base: f64,
    /// Fisher's exact test of the 2×2 table group/rest × hit/miss.
    p_value: f64,
    /// Wilson interval of the group's rate, in percent.
    ci: Option<Interval>,
}

fn rate_test(
    group: &[&Item],
    rest: &[&Item],
    hit: impl Fn(&Item) -> bool,
    alternative: Alternative,
) -> Option<RateTest> {
    let a = group.iter().filter(|i| hit(i)).count() as u64;
    let c = rest.iter().filter(|i| hit(i)).count() as u64;
    let table = Table2 {
        a,
        b: group.len() as u64 - a,
        c,
        d: rest.len() as u64 - c,
    };
    let p_value = stats::fisher_exact(table, alternative).ok()?;
    let ci = stats::wilson_interval(a, group.len() as u64, LEVEL)
        .ok()
        .map(|w| Interval {
            low: 100.0 * w.low,
            high: 100.0 * w.high,
            level: LEVEL,
        });
    Some(RateTest {
        a,
        rate: a as f64 / group.len() as f64,
        base: c as f64 / rest.len() as f64,
        p_value,
        ci,
    })
}

/// Weekday and hour band: does the trader diverge more (or less) often on these
/// recommendations than on the others? Fisher's exact test, two-sided.
fn divergence_rate_test(spec: &Spec, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let in_group = |i: &Item| -> bool {
        let Some(rec) = i.rec.as_ref() else {
            return false;
        };
        match spec {
            Spec::Weekday(w) => rec.session_weekday() == *w,
            Spec::Band(a, b) => rec.session_hour().is_some_and(|h| (*a..*b).contains(&h)),
            _ => false,
        }
    };
    let pop: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| is_recommended(i))
        .collect();
    let (group, rest): (Vec<&Item>, Vec<&Item>) = pop.iter().copied().partition(|i| in_group(i));
    if group.len() < cfg.min_samples.max(1) || rest.is_empty() {
        return None;
    }
    let RateTest {
        a,
        rate,
        base,
        p_value,
        ci,
    } = rate_test(
        &group,
        &rest,
        |i| i.match_type.is_divergence(),
        Alternative::TwoSided,
    )?;
    let rates = words::GroupRate {
        hits: a,
        of: group.len(),
        rate,
        base,
    };
    let (key, subject, description) = match spec {
        Spec::Weekday(w) => {
            let name = words::weekday_name(*w);
            (
                PatternKey::WeekdayEffect,
                name.to_owned(),
                words::diverges_on(&format!("{name}s"), &rates),
            )
        }
        Spec::Band(a, b) => {
            let band = words::band_label(*a, *b);
            (
                PatternKey::TimeOfDayEffect,
                band.clone(),
                words::diverges_on(&format!("recommendations sent {band}"), &rates),
            )
        }
        _ => return None,
    };
    Some(Eval {
        spec: spec.clone(),
        key,
        subject: Some(subject),
        n: group.len(),
        effect: 100.0 * rate,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * base),
        ci,
        p_value,
        strength: p_value,
        test: "Fisher exact test (two-sided)",
        relevant: (rate - base).abs() >= cfg.min_rate_difference,
        description,
        threshold: None,
        threshold_value: None,
        match_ids: group
            .iter()
            .filter(|i| i.match_type.is_divergence())
            .map(|i| i.match_id)
            .collect(),
        cover: None,
    })
}

/// One reason code's share of the divergences that have a reason, against an equal share
/// of all codes: exact binomial test, one-sided.
fn reason_test(code: ReasonCode, items: &[&Item], cfg: &PatternConfig) -> Option<Eval> {
    let with_reason: Vec<&Item> = items
        .iter()
        .copied()
        .filter(|i| i.match_type.is_divergence() && i.reason.is_some())
        .collect();
    let k = with_reason
        .iter()
        .filter(|i| i.reason == Some(code))
        .count() as u64;
    let n = with_reason.len() as u64;
    if with_reason.len() < cfg.min_samples.max(1) || k == 0 {
        return None;
    }
    let equal_share = 1.0 / ReasonCode::ALL.len() as f64;
    let p_value = stats::binomial_test(k, n, equal_share, Alternative::Greater).ok()?;
    let share = k as f64 / n as f64;
    let ci = stats::wilson_interval(k, n, LEVEL).ok().map(|c| Interval {
        low: 100.0 * c.low,
        high: 100.0 * c.high,
        level: LEVEL,
    });
    Some(Eval {
        spec: Spec::Reason(code),
        key: PatternKey::ReasonDominance,
        subject: Some(code.as_str().to_owned()),
        n: with_reason.len(),
        effect: 100.0 * share,
        unit: EffectUnit::RatePercent,
        baseline: Some(100.0 * equal_share),
        ci,
        p_value,
        strength: p_value,
        test: "exact binomial test (one-sided)",
        relevant: share >= cfg.min_dominant_share && k as usize >= cfg.min_samples,
        description: words::dominant_reason(code, k, n),
        threshold: None,
        threshold_value: None,
        match_ids: with_reason
            .iter()
            .filter(|i| i.reason == Some(code))
            .map(|i| i.match_id)
            .collect(),
        cover: None,
    })
}

/// Rejection patterns (premium, IV, symbol, earnings) are checked against each other,
/// strongest first: a weaker one is kept only if it is still significant (raw p ≤ fdr)
/// and relevant on the items the kept ones do not explain. Weekday and time-of-day
/// effects are then checked the same way against all kept rejection patterns. This only
/// removes patterns, so the false discovery rate stays controlled.
fn explain_away(evals: &[Eval], reported: &mut [bool], items: &[&Item], cfg: &PatternConfig) {
    let mut order: Vec<usize> = (0..evals.len())
        .filter(|&i| reported[i] && evals[i].cover.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        evals[a]
            .strength
            .total_cmp(&evals[b].strength)
            .then(evals[b].effect.total_cmp(&evals[a].effect))
            .then(a.cmp(&b))
    });
    let mut kept: Vec<Cover> = Vec::new();
    let survives = |e: &Eval, kept: &[Cover]| -> bool {
        if kept.is_empty() {
            return true;
        }
        let rest: Vec<&Item> = items
            .iter()
            .copied()
            .filter(|i| !kept.iter().any(|c| c.covers(i)))
            .collect();
        evaluate(&e.spec, &rest, cfg).is_some_and(|r| r.p_value <= cfg.fdr && r.relevant)
    };
    for i in order {
        if survives(&evals[i], &kept) {
            if let Some(c) = evals[i].cover.clone() {
                kept.push(c);
            }
        } else {
            reported[i] = false;
        }
    }
    let rejection_covers = kept;
    // A dominant reason that only restates a kept pattern (premium_low under the premium
    // threshold) adds nothing.
    for (i, e) in evals.iter().enumerate() {
        if reported[i] && matches!(e.spec, Spec::Reason(_)) && !survives(e, &rejection_covers) {
            reported[i] = false;
        }
    }
    // Weekday and time-of-day effects: checked against the kept rejection patterns and
    // against each other (one day with many divergences makes every other day look calm
    // by contrast). When a modification habit (DTE, strike, size) is reported, it already
    // explains the modifications, so only rejections count as divergences here.
    let habit = evals.iter().zip(reported.iter()).any(|(e, &r)| {
        r && matches!(
            e.spec,
            Spec::DteShift | Spec::StrikeShift | Spec::ContractReduction
        )
    });
    let survives_family = |e: &Eval, kept: &[Cover]| -> bool {
        let rest: Vec<Item> = items
            .iter()
            .filter(|i| !kept.iter().any(|c| c.covers(i)))
            .map(|i| {
                let mut i = (*i).clone();
                if habit && i.match_type == MatchType::Modify {
                    i.match_type = MatchType::Consent;
                }
                i
            })
            .collect();
        let rest: Vec<&Item> = rest.iter().collect();
        evaluate(&e.spec, &rest, cfg).is_some_and(|r| r.p_value <= cfg.fdr && r.relevant)
    };
    for family in [Family::Weekday, Family::Band] {
        let mut order: Vec<usize> = (0..evals.len())
            .filter(|&i| reported[i] && family_of(&evals[i].spec) == Some(family))
            .collect();
        order.sort_by(|&a, &b| {
            evals[a]
                .strength
                .total_cmp(&evals[b].strength)
                .then(a.cmp(&b))
        });
        let mut kept = rejection_covers.clone();
        for i in order {
            if survives_family(&evals[i], &kept) {
                kept.push(match evals[i].spec {
                    Spec::Weekday(w) => Cover::Weekday(w),
                    Spec::Band(a, b) => Cover::Band(a, b),
                    _ => continue,
                });
            } else {
                reported[i] = false;
            }
        }
    }
}

/// Rejected, or modified to expire before the earnings date.
fn avoids_earnings(i: &Item) -> bool {
    if i.match_type == MatchType::Reject {
        return true;
    }
    let (Some(rec), Some(d)) = (i.rec.as_ref(), i.dte_diff) else {
        return false;
    };
    let Some(earnings) = rec.earnings_date else {
        return false;
    };
    i.match_type == MatchType::Modify
        && rec
            .expiration
            .checked_add_signed(chrono::Duration::days(d))
            .is_some_and(|e| e < earnings)
}

/// Fisher–Yates shuffle.
fn shuffle<T>(xs: &mut [T], rng: &mut SplitMix64) {
    for i in (1..xs.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        xs.swap(i, j);
    }
}
