//! Detection quality: for every persona and many seeds, simulate 8 weeks, run the real
//! pipeline (store, nightly reconciliation, outcome tracking, the weekly learning run)
//! and score the patterns against what was planted, with the core question's verdict on
//! each planted pattern (the money, `learning::verdict`). Run with
//! `cargo bench --bench detection`; the table goes to docs/LEARNING.md.
//!
//! Settings (environment): BENCH_SEEDS (default 100), BENCH_WEEKS (default 8),
//! BENCH_PERSONAS (comma-separated names, default all).

use std::time::Instant;

use chrono::{Duration, NaiveTime};
use rlhf_bot::app;
use rlhf_bot::config::Settings;
use rlhf_bot::domain::Money;
use rlhf_bot::domain::Week;
use rlhf_bot::domain::schedule::resolve_local;
use rlhf_bot::sim::{Persona, Planted, SimConfig, simulate};
use rlhf_bot::store::Store;

/// How far a found effect may be from the planted one.
const DTE_TOLERANCE_DAYS: f64 = 1.0;
const PREMIUM_TOLERANCE: Money = Money::from_cents(5);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("detection: bench");
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(bench());
}

/// What one seed's run found, scored.
#[derive(Default)]
struct Score {
    /// Every planted pattern found, with its effect within tolerance.
    found_all: bool,
    /// Patterns reported that were not planted.
    false_patterns: usize,
    /// The found effects, for the table: DTE shift (days) and premium threshold.
    dte: Option<f64>,
    threshold: Option<Money>,
    /// The verdicts on the planted patterns found (`trader_right`, …).
    verdicts: Vec<String>,
}

fn score(planted: &Planted, patterns: &[serde_json::Value]) -> Score {
    let key = |p: &serde_json::Value| p["key"].as_str().unwrap_or("").to_owned();
    let find = |k: &str| patterns.iter().find(|p| key(p) == k);
    let mut s = Score::default();
    let mut ok = true;
    let mut expected: Vec<&str> = Vec::new();
    if let Some(days) = planted.dte_shift_days {
        expected.push("dte_shift");
        let effect = find("dte_shift").and_then(|p| p["effect"].as_f64());
        s.dte = effect;
        ok &= effect.is_some_and(|e| (e - days as f64).abs() <= DTE_TOLERANCE_DAYS);
    }
    if let Some(floor) = planted.premium_floor {
        expected.push("low_premium_rejection");
        let t = find("low_premium_rejection")
            .and_then(|p| p["threshold"].as_str())
            .and_then(|t| Money::parse(t).ok());
        s.threshold = t;
        ok &= t.is_some_and(|t| (t - floor).abs() <= PREMIUM_TOLERANCE);
    }
    if let Some(sym) = &planted.avoided_symbol {
        expected.push("symbol_rejection");
        ok &= patterns
            .iter()
            .any(|p| key(p) == "symbol_rejection" && p["subject"].as_str() == Some(sym.as_str()));
    }
    if planted.avoids_earnings {
        expected.push("earnings_avoidance");
        ok &= find("earnings_avoidance").is_some();
    }
    s.found_all = ok;
    s.verdicts = patterns
        .iter()
        .filter(|p| expected.contains(&key(p).as_str()))
        .filter_map(|p| p["verdict"]["kind"].as_str().map(str::to_owned))
        .collect();
    // A pattern is false when its key is not one of the planted ones. Reason dominance
    // needs recorded reasons, which the simulation does not write.
    s.false_patterns = patterns
        .iter()
        .filter(|p| !expected.contains(&key(p).as_str()))
        .count();
    s
}

async fn one(persona: Persona, seed: u64, weeks: u32, settings: &Settings) -> Score {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("d.db").display());
    let store = Store::open(&url).await.expect("database");
    let tz = settings.tz;
    let cfg = SimConfig {
        seed,
        weeks,
        persona,
        tz,
        ..SimConfig::default()
    };
    let sim = simulate(&cfg);
    let at = |d: chrono::NaiveDate, h: u32| {
        resolve_local(tz, d.and_time(NaiveTime::from_hms_opt(h, 0, 0).unwrap()))
    };
    let now = at(sim.start, 8);
    store
        .insert_recommendations(&sim.recommendations, tz, now)
        .await
        .unwrap();
    store
        .insert_executions(&sim.executions, tz, now)
        .await
        .unwrap();
    store.insert_prices(&sim.prices, now).await.unwrap();
    let last = sim.last_day().unwrap_or(sim.start);
    let mut day = sim.start;
    while day <= last {
        app::reconcile::run_day(&store, &settings.rules, tz, day, None, at(day, 21))
            .await
            .unwrap();
        day += Duration::days(1);
    }
    app::outcomes::run(&store, tz, last, None, at(last, 22))
        .await
        .unwrap();
    let week = Week::of(sim.start + Duration::weeks(i64::from(weeks) - 1));
    app::learning::weekly(&store, settings, week, None, at(last, 23))
        .await
        .unwrap();
    let summary = store.summary(cfg.account, week).await.unwrap();
    store.close().await;
    let patterns = summary.patterns.as_array().cloned().unwrap_or_default();
    let s = score(&sim.planted, &patterns);
    if std::env::var_os("BENCH_VERBOSE").is_some() && (!s.found_all || s.false_patterns > 0) {
        let found: Vec<String> = patterns
            .iter()
            .map(|p| format!("{} [{}]", p["description"], p["p_value"]))
            .collect();
        eprintln!("{persona} seed {seed}: found {found:?}");
    }
    s
}

async fn bench() {
    let seeds = env("BENCH_SEEDS", 100) as u64;
    let weeks = env("BENCH_WEEKS", 8) as u32;
    let wanted: Vec<Persona> = match std::env::var("BENCH_PERSONAS") {
        Ok(list) => list
            .split(',')
            .map(|p| p.parse().expect("a persona name"))
            .collect(),
        Err(_) => Persona::ALL.to_vec(),
    };
    let settings = Settings::from_lookup(|_| None).expect("defaults");
    println!(
        "| persona | seeds | planted found (effect in tolerance) | seeds with a false pattern | \
         false patterns | DTE found (mean) | threshold found (min–max) | verdicts on planted \
         (trader / information / algorithm / inconclusive) | seconds |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for persona in wanted {
        let t = Instant::now();
        let mut found = 0;
        let mut with_false = 0;
        let mut false_total = 0;
        let mut dtes = Vec::new();
        let mut thresholds = Vec::new();
        let mut verdicts: std::collections::BTreeMap<String, usize> = Default::default();
        for seed in 1..=seeds {
            let s = one(persona, seed, weeks, &settings).await;
            found += usize::from(s.found_all);
            with_false += usize::from(s.false_patterns > 0);
            false_total += s.false_patterns;
            dtes.extend(s.dte);
            thresholds.extend(s.threshold);
            for v in s.verdicts {
                *verdicts.entry(v).or_default() += 1;
            }
        }
        let verdict_col = [
            "trader_right",
            "information",
            "algorithm_right",
            "inconclusive",
        ]
        .map(|k| verdicts.get(k).copied().unwrap_or(0).to_string())
        .join(" / ");
        let pct = |k: usize| format!("{k}/{seeds} ({:.0}%)", 100.0 * k as f64 / seeds as f64);
        let planted = persona.planted();
        let found_col = if planted.is_nothing() {
            "— (nothing planted)".to_owned()
        } else {
            pct(found)
        };
        let dte = if dtes.is_empty() {
            "—".to_owned()
        } else {
            format!("{:.2}", dtes.iter().sum::<f64>() / dtes.len() as f64)
        };
        let thr = match (thresholds.iter().min(), thresholds.iter().max()) {
            (Some(lo), Some(hi)) => {
                format!("{} – {}", lo.to_dollars_display(), hi.to_dollars_display())
            }
            _ => "—".to_owned(),
        };
        println!(
            "| {persona} | {seeds} | {found_col} | {} | {false_total} | {dte} | {thr} | {verdict_col} | {:.0} |",
            pct(with_false),
            t.elapsed().as_secs_f64()
        );
    }
}
