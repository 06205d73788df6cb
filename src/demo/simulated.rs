//! The simulated demo: a seeded trader persona over N weeks, run through the whole
//! pipeline week by week (import, nightly reconciliation, outcome tracking, the Saturday
//! summary) on a fresh SQLite database, then what learning found.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc, Weekday};

use crate::app::App;
use crate::config::Settings;
use crate::domain::Week;
use crate::domain::schedule::resolve_local;
use crate::learning::candidates::State;
use crate::learning::summary::count_of;
use crate::sim::{Persona, SimConfig, simulate};
use crate::store::Scope;
use crate::terminal::{UsageError, counts_line};

/// What to simulate.
#[derive(Debug, Clone)]
pub struct Options {
    pub persona: Persona,
    pub weeks: u32,
    pub seed: u64,
    pub keep: bool,
}

/// What a persona does, in words.
pub fn persona_habit(p: Persona) -> &'static str {
    match p {
        Persona::Faithful => "follows the algorithm, skipping one now and then at random",
        Persona::AddsWeek => "sells the recommended strike one week later, most of the time",
        Persona::PremiumFloor => "skips every recommendation paying under $0.30",
        Persona::AvoidsSymbol => "never sells TSLA",
        Persona::AvoidsEarnings => "skips recommendations whose expiry spans earnings",
        Persona::Combined => "adds a week to DTE and skips premiums under $0.30",
    }
}

/// Local `time` on `day` in the schedule zone, as UTC.
fn at(settings: &Settings, day: NaiveDate, h: u32) -> DateTime<Utc> {
    let t = NaiveTime::from_hms_opt(h, 0, 0).expect("a valid hour");
    resolve_local(settings.tz, day.and_time(t))
}

pub async fn run(settings: &Settings, o: &Options) -> anyhow::Result<()> {
    if !(1..=52).contains(&o.weeks) {
        return Err(UsageError(format!(
            "--weeks must be between 1 and 52 (got {})",
            o.weeks
        ))
        .into());
    }
    let (dir, store) = super::fresh_store(settings).await?;
    let app = App::quiet(store, std::sync::Arc::new(settings.clone()));
    let tz = settings.tz;

    let cfg = SimConfig {
        seed: o.seed,
        weeks: o.weeks,
        persona: o.persona,
        tz,
        ..SimConfig::default()
    };
    let sim = simulate(&cfg);
    println!(
        "rlhf-bot demo: a simulated trader who {} (persona {}), {}, seed {}, in a fresh database\n",
        persona_habit(o.persona),
        o.persona,
        count_of(o.weeks as usize, "week"),
        o.seed
    );
    println!("WEEK BY WEEK (import, reconcile each night, track outcomes, Saturday summary)");
    let mut last_week = None;
    for n in 0..sim.week_count() {
        let part = sim.week(n);
        let monday = sim.start + Duration::weeks(i64::from(n));
        let now = at(settings, monday, 8);
        app.ingest_recommendations(&part.recommendations, now)
            .await?;
        app.ingest_executions(&part.executions, now).await?;
        app.ingest_prices(&part.prices, now).await?;
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for d in 0..5 {
            let day = monday + Duration::days(d);
            let night = at(settings, day, 21);
            let r = app.reconcile_day(Scope::All, day, night).await?.report;
            for (k, v) in r.counts {
                *counts.entry(k).or_default() += v;
            }
            app.track_outcomes(Scope::All, day, at(settings, day, 22))
                .await?;
        }
        let week = Week::of(monday);
        if n < o.weeks {
            let saturday =
                NaiveDate::from_isoywd_opt(week.year, week.week, Weekday::Sat).expect("a Saturday");
            let (report, _) = app
                .generate_summaries(Scope::All, week, at(settings, saturday, 9))
                .await?;
            println!(
                "  {week}  {:>2} recommendations  {:>2} executions  {}  → {}, {}",
                part.recommendations.len(),
                part.executions.len(),
                counts_line(&counts),
                count_of(report.patterns, "pattern"),
                count_of(report.proposed, "new candidate")
            );
            last_week = Some(week);
        } else {
            let n = part.executions.len();
            let what = if n == 1 {
                "expiration or assignment"
            } else {
                "expirations and assignments"
            };
            println!("  {week}  settlement: {n:>2} {what}");
        }
    }
    let Some(week) = last_week else {
        return Ok(());
    };
    // Regenerated once everything has settled, so the core question sees final P&L.
    let end = at(
        settings,
        sim.last_day().unwrap_or(sim.start) + Duration::days(1),
        9,
    );
    app.generate_summaries(Scope::All, week, end).await?;
    let account = cfg.account;
    let summary = app.summary(account, week).await?;
    println!("\nTHE LAST WEEKLY MESSAGE (regenerated after the positions settled)\n");
    println!("{}\n", summary.text);

    println!(
        "PATTERNS ({}-week look-back, Benjamini–Hochberg across every test)",
        settings.learning.lookback_weeks
    );
    let patterns = summary.patterns.as_array().cloned().unwrap_or_default();
    if patterns.is_empty() {
        println!("  none with enough evidence");
    }
    for p in &patterns {
        println!("{}", pattern_block(p));
    }
    println!("\nCANDIDATES (you decide: rlhf-bot candidates decide ID implement|defer|reject)");
    let candidates = app.candidates(Scope::Account(account)).await?;
    if candidates.is_empty() {
        println!("  none");
    }
    for c in &candidates {
        let backtest = c.evidence.detail["proposal"]["backtest"]["summary"]
            .as_str()
            .map(|s| format!("\n      backtest: {s}"))
            .unwrap_or_default();
        println!(
            "  #{} {} — {}{backtest}",
            c.id,
            if c.state == State::Proposed {
                "proposed".to_owned()
            } else {
                c.state.to_string()
            },
            c.title
        );
    }
    let planted = &sim.planted;
    let mut truth = Vec::new();
    if let Some(d) = planted.dte_shift_days {
        truth.push(format!("DTE +{d} days"));
    }
    if let Some(f) = planted.premium_floor {
        truth.push(format!("rejects premiums under {}", f.to_dollars_display()));
    }
    if let Some(s) = &planted.avoided_symbol {
        truth.push(format!("avoids {s}"));
    }
    if planted.avoids_earnings {
        truth.push("avoids earnings".to_owned());
    }
    println!(
        "\nPLANTED (what the simulator hid in the trader): {}",
        if truth.is_empty() {
            "nothing — every divergence is chance".to_owned()
        } else {
            truth.join("; ")
        }
    );

    app.store().close().await;
    if o.keep {
        let kept = dir.keep();
        println!(
            "\nThe demo database is kept. Explore it with:\n  DATABASE_URL=sqlite://{} rlhf-bot summary show --year {} --week {}",
            kept.join("demo.db").display(),
            week.year,
            week.week
        );
    }
    Ok(())
}

/// A pattern with its evidence and verdict, as the demo prints it.
fn pattern_block(p: &serde_json::Value) -> String {
    let num = |k: &str| p[k].as_f64();
    let mut s = format!(
        "  • {} [{}{}]\n      n={}, effect {:.2} {}",
        p["description"].as_str().unwrap_or(""),
        p["key"].as_str().unwrap_or(""),
        p["subject"]
            .as_str()
            .map(|x| format!(": {x}"))
            .unwrap_or_default(),
        p["n"],
        num("effect").unwrap_or(0.0),
        match p["unit"].as_str().unwrap_or("") {
            "days" => "days",
            "percent" => "%",
            "rate_percent" => "% of them",
            other => other,
        },
    );
    if let (Some(lo), Some(hi)) = (p["ci"]["low"].as_f64(), p["ci"]["high"].as_f64()) {
        s.push_str(&format!(" (95% CI {lo:.2} to {hi:.2})"));
    }
    s.push_str(&format!(
        ", p={:.2e}, q={:.2e} ({})",
        num("p_value").unwrap_or(1.0),
        num("q_value").unwrap_or(1.0),
        p["test"].as_str().unwrap_or("")
    ));
    if let Some(v) = p["verdict"]["sentence"].as_str() {
        s.push_str(&format!("\n      core question: {v}"));
    }
    s
}
