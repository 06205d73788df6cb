//! The demos. `simulated`: a seeded trader persona over weeks, through the whole
//! pipeline and learning (the default). This file: `--sample`, a sample trader's January 2025 (shipped in `samples/demo/`), imported into
//! a fresh SQLite database, reconciled day by day, its outcomes tracked, and what was
//! found printed — every match type, partial fills, a roll, an expiry.

pub mod simulated;

use std::collections::BTreeMap;
use std::io::Cursor;

use anyhow::Context;
use chrono::{NaiveDate, Utc};

use crate::app::App;
use crate::config::Settings;
use crate::domain::{MatchType, Money};
use crate::import::{ImportFormat, ImportKind};
use crate::learning::{DayRange, Item, ledger};
use crate::store::{MatchFilter, Scope, Store};
use crate::terminal::{counts_line, match_line};

const RECOMMENDATIONS: &str = include_str!("../samples/demo/recommendations.csv");
const EXECUTIONS: &str = include_str!("../samples/demo/executions.csv");
const PRICES: &str = include_str!("../samples/demo/prices.csv");

/// A fresh SQLite database in a temporary directory of its own (kept or removed with
/// the directory).
pub(crate) async fn fresh_store(settings: &Settings) -> anyhow::Result<(tempfile::TempDir, Store)> {
    let dir = tempfile::Builder::new()
        .prefix("rlhf-bot-demo-")
        .tempdir()
        .context("cannot create a directory for the demo database")?;
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = Store::open(&url).await.context("demo database")?;
    store.bind_zone(settings.tz).await?;
    Ok((dir, store))
}

/// The January 2025 sample (`demo --sample`).
pub async fn run_sample(settings: &Settings, keep: bool) -> anyhow::Result<()> {
    let (dir, store) = fresh_store(settings).await?;
    let app = App::quiet(store, std::sync::Arc::new(settings.clone()));
    let now = Utc::now();
    println!("rlhf-bot demo: a sample trader's January 2025, in a fresh database\n");

    for (kind, text) in [
        (ImportKind::Recommendations, RECOMMENDATIONS),
        (ImportKind::Executions, EXECUTIONS),
        (ImportKind::Prices, PRICES),
    ] {
        let report = app
            .import(kind, ImportFormat::Generic, Cursor::new(text), now)
            .await?;
        println!("{:<24} {}", format!("import {kind}:"), report.summary());
    }

    let (from, to) = (day("2025-01-06"), day("2025-01-31"));
    let mut totals: BTreeMap<String, usize> = BTreeMap::new();
    for d in from.iter_days().take_while(|d| *d <= to) {
        let r = app.reconcile_day(Scope::All, d, now).await?.report;
        for (k, n) in r.counts {
            *totals.entry(k).or_default() += n;
        }
    }
    println!("reconcile {from} to {to}: {}", counts_line(&totals));
    let tracked = app.track_outcomes(Scope::All, to, now).await?;
    let statuses: Vec<String> = tracked
        .statuses
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    println!("outcomes as of {to}: {}\n", statuses.join(", "));

    println!("MATCHES");
    let matches = app.matches(&MatchFilter::default()).await?;
    for m in &matches {
        println!("{}", match_line(m));
    }

    // The ledger's figures: the algorithm pays the trader's fees too; a trade of the
    // trader's own has no algorithm side and is shown apart, never in the comparison.
    println!("\nWHO WAS RIGHT (realized P&L where you diverged; fees on both sides)");
    let items: BTreeMap<i64, Item> = app
        .items_in(Scope::All, DayRange::new(from, to))
        .await?
        .into_iter()
        .map(|i| (i.match_id, i))
        .collect();
    let show = |v: Option<Money>, none: &str| {
        v.map(Money::to_dollars_display)
            .unwrap_or_else(|| none.to_owned())
    };
    let (mut you, mut algo, mut compared) = (Money::ZERO, Money::ZERO, 0);
    let mut own = Vec::new();
    for m in matches.iter().filter(|m| m.match_type.is_divergence()) {
        let Some(item) = items.get(&m.id) else {
            continue;
        };
        if m.match_type == MatchType::Independent {
            own.push((m, ledger::trader_pnl(item)));
            continue;
        }
        let pair = ledger::pair(item);
        if let Some(p) = pair {
            you += p.trader;
            algo += p.algorithm;
            compared += 1;
        }
        let trader = match m.match_type {
            MatchType::Reject => None,
            _ => pair.map(|p| p.trader),
        };
        println!(
            "  #{:<3} {:<11} {:<5} you {:>10}   algorithm {:>10}",
            m.id,
            m.match_type.as_str(),
            m.underlying,
            show(trader, "no trade"),
            show(pair.map(|p| p.algorithm), "-"),
        );
    }
    println!(
        "  total ({compared} compared) you {:>10}   algorithm {:>10}",
        you.to_dollars_display(),
        algo.to_dollars_display()
    );
    for (m, pnl) in own {
        println!(
            "  your own trade #{} {} (no algorithm side): {}",
            m.id,
            m.underlying,
            show(pnl, "not settled yet")
        );
    }
    app.store().close().await;
    if keep {
        let kept = dir.keep();
        println!(
            "\nThe demo database is kept. Explore it with:\n  DATABASE_URL=sqlite://{} rlhf-bot matches",
            kept.join("demo.db").display()
        );
    }
    Ok(())
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a valid literal date")
}
