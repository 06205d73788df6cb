//! The seeded trader simulator: determinism, valid records, a realistic algorithm, and
//! planted persona habits that the project's own reconciliation and outcome tracking
//! bring to light.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use rlhf_bot::domain::outcome::{Book, MatchView, counterfactual, outcomes_for};
use rlhf_bot::domain::reconcile::{MatchDraft, MatchRules, group_fills, reconcile_range};
use rlhf_bot::domain::{
    ExecAction, MatchType, Money, OutcomeStatus, ReasonCode, RecAction, Recommendation, Side,
    Stored, day_of,
};
use rlhf_bot::learning::verdict::{VerdictConfig, VerdictKind, VerdictSubject, verdicts};
use rlhf_bot::learning::{FeeSchedule, Item, RecFacts, SideOutcome};
use rlhf_bot::sim::{
    AVOIDED_SYMBOL, PREMIUM_FLOOR, Persona, SimConfig, SimOutput, simulate, spans_earnings,
};

const SEEDS: std::ops::RangeInclusive<u64> = 1..=6;

fn config(seed: u64, persona: Persona) -> SimConfig {
    SimConfig {
        seed,
        persona,
        ..SimConfig::default()
    }
}

fn run(seed: u64, persona: Persona) -> SimOutput {
    simulate(&config(seed, persona))
}

/// A recommendation with the match the reconciliation gave it.
struct Judged {
    rec: Stored<Recommendation>,
    day: NaiveDate,
    m: MatchDraft,
}

/// Reconciles every day of the simulation as the nightly job would.
fn reconcile(out: &SimOutput) -> (Vec<Judged>, Vec<(NaiveDate, MatchDraft)>) {
    let recs = out.stored_recommendations();
    let execs = out.stored_executions();
    let last = out.last_day().expect("a simulation has days");
    let all = reconcile_range(
        out.start,
        last,
        &recs,
        &execs,
        &MatchRules::default(),
        out.tz,
    );
    let mut judged = Vec::new();
    for (day, m) in &all {
        if let Some(id) = m.recommendation {
            judged.push(Judged {
                rec: recs[(id - 1) as usize].clone(),
                day: *day,
                m: m.clone(),
            });
        }
    }
    (judged, all)
}

fn sales(judged: &[Judged]) -> impl Iterator<Item = &Judged> {
    judged
        .iter()
        .filter(|j| j.rec.action == RecAction::SellToOpen)
}

fn share(part: usize, whole: usize) -> f64 {
    part as f64 / whole.max(1) as f64
}

#[test]
fn the_same_seed_gives_the_same_weeks_and_another_seed_other_weeks() {
    for persona in Persona::ALL {
        let a = run(7, *persona);
        assert_eq!(a, run(7, *persona), "{persona}");
        let b = run(8, *persona);
        assert_ne!(a.recommendations, b.recommendations, "{persona}");
        assert_ne!(a.executions, b.executions, "{persona}");
        assert_ne!(a.prices, b.prices, "{persona}");
    }
}

#[test]
fn every_persona_is_offered_the_same_sales_for_a_seed() {
    let sales_of = |out: &SimOutput| -> Vec<Recommendation> {
        out.recommendations
            .iter()
            .filter(|r| r.action == RecAction::SellToOpen)
            .cloned()
            .collect()
    };
    let faithful = run(3, Persona::Faithful);
    let offered = sales_of(&faithful);
    assert!(!offered.is_empty());
    for persona in Persona::ALL {
        let out = run(3, *persona);
        assert!(
            sales_of(&out) == offered,
            "{persona} is offered other sales"
        );
        // The same market; only how far the closes run depends on what is held.
        let n = out.prices.len().min(faithful.prices.len());
        assert!(
            out.prices[..n] == faithful.prices[..n],
            "{persona} sees another market"
        );
    }
}

#[test]
fn every_record_is_valid_and_in_time_order() {
    for seed in SEEDS {
        for persona in Persona::ALL {
            let out = run(seed, *persona);
            let tz = out.tz;
            let trading_end = out.start + chrono::Duration::weeks(8);
            assert!(out.recommendations.is_sorted_by_key(|r| r.created_at));
            assert!(out.executions.is_sorted_by_key(|e| e.executed_at));
            assert!(out.prices.is_sorted_by_key(|p| p.date));
            for r in &out.recommendations {
                let day = day_of(r.created_at, tz);
                let local = r.created_at.with_timezone(&tz);
                assert!(day < trading_end && day.weekday().num_days_from_monday() < 5);
                assert!((9..11).contains(&local.hour()) || local.time().to_string() == "11:00:00");
                assert!(r.contracts > 0 && r.contract.strike > Money::ZERO, "{r:?}");
                assert!(r.contract.expiration > day, "{r:?}");
                assert_eq!(r.contract.expiration.weekday(), Weekday::Fri);
                assert!(r.premium > Money::ZERO, "{r:?}");
                assert_eq!(r.premium, r.premium.round_to_cents());
                if r.action == RecAction::SellToOpen {
                    assert!((7..=21).contains(&r.contract.dte(day)), "{r:?}");
                    assert!(r.context.underlying_price.is_some() && r.context.iv.is_some());
                    assert!(
                        r.context
                            .iv_rank
                            .is_some_and(|v| (0.0..=100.0).contains(&v))
                    );
                } else {
                    assert_eq!(r.position.as_ref(), Some(&r.contract));
                }
            }
            let ids: BTreeSet<_> = out.recommendations.iter().map(|r| &r.external_id).collect();
            assert_eq!(
                ids.len(),
                out.recommendations.len(),
                "external ids are unique"
            );
            let refs: BTreeSet<_> = out.executions.iter().map(|e| &e.broker_ref).collect();
            assert_eq!(refs.len(), out.executions.len(), "broker refs are unique");
            let closes = out.closes();
            for e in &out.executions {
                let day = day_of(e.executed_at, tz);
                assert!(e.contracts > 0 && e.contract.strike > Money::ZERO, "{e:?}");
                assert!(e.contract.expiration >= day, "{e:?}");
                if e.action.is_lifecycle() {
                    assert_eq!(day, e.contract.expiration, "{e:?}");
                    let close = closes[&(e.contract.underlying.clone(), day)];
                    let itm = !e.contract.intrinsic(close).is_zero();
                    let want = if itm {
                        ExecAction::Assigned
                    } else {
                        ExecAction::Expired
                    };
                    assert_eq!(e.action, want, "{e:?}");
                } else {
                    assert!(day < trading_end && day.weekday().num_days_from_monday() < 5);
                    assert!(e.price > Money::ZERO, "{e:?}");
                    assert!(e.executed_at.with_timezone(&tz).hour() < 16, "{e:?}");
                }
            }
        }
    }
}

#[test]
fn a_trader_who_does_everything_as_told_consents_to_everything() {
    // With no chance skips and no trades of its own, every recommendation must be
    // answered inside its response window with its own contract.
    for seed in SEEDS {
        let out = simulate(&SimConfig {
            ignore_rate: 0.0,
            independent_rate: 0.0,
            ..config(seed, Persona::Faithful)
        });
        let (judged, all) = reconcile(&out);
        assert_eq!(
            judged.len(),
            out.recommendations.len(),
            "every recommendation is judged"
        );
        assert!(judged.iter().any(|j| j.rec.action == RecAction::BuyToClose));
        for (day, m) in &all {
            assert_eq!(m.match_type, MatchType::Consent, "seed {seed} {day}: {m:?}");
        }
        let window = MatchRules::default().window;
        let execs = out.stored_executions();
        for j in &judged {
            let sent = day_of(j.rec.created_at, out.tz);
            for id in &j.m.executions {
                let traded = day_of(execs[(*id - 1) as usize].executed_at, out.tz);
                assert!(window.contains(sent, traded), "{sent} → {traded}");
            }
        }
    }
}

#[test]
fn recommended_deltas_are_near_0_30() {
    let mut deltas = Vec::new();
    for seed in SEEDS {
        for r in run(seed, Persona::Faithful).recommendations {
            if r.action == RecAction::SellToOpen {
                let d = r.context.delta.expect("sales carry their delta");
                let sign = if r.contract.right == rlhf_bot::domain::Right::Put {
                    -1.0
                } else {
                    1.0
                };
                assert!(d * sign > 0.0, "the delta's sign follows the right: {r:?}");
                assert!((0.18..=0.42).contains(&d.abs()), "{r:?}");
                deltas.push(d.abs());
            }
        }
    }
    let mean = deltas.iter().sum::<f64>() / deltas.len() as f64;
    assert!((0.28..=0.32).contains(&mean), "mean delta {mean}");
}

#[test]
fn premiums_spread_from_dimes_to_dollars_so_a_thirty_cent_floor_matters() {
    let mut premiums: Vec<Money> = Vec::new();
    for seed in SEEDS {
        premiums.extend(
            run(seed, Persona::Faithful)
                .recommendations
                .iter()
                .filter(|r| r.action == RecAction::SellToOpen)
                .map(|r| r.premium),
        );
    }
    premiums.sort();
    let n = premiums.len();
    let under_floor = premiums.iter().filter(|p| **p < PREMIUM_FLOOR).count();
    let over_dollar = premiums
        .iter()
        .filter(|p| **p > Money::from_dollars(1))
        .count();
    assert!(premiums[0] >= Money::from_cents(5), "{}", premiums[0]);
    assert!(premiums[0] <= Money::from_cents(15), "{}", premiums[0]);
    assert!(
        premiums[n - 1] >= Money::from_dollars(3),
        "{}",
        premiums[n - 1]
    );
    assert!(
        premiums[n - 1] <= Money::from_dollars(15),
        "{}",
        premiums[n - 1]
    );
    assert!(
        (0.08..=0.35).contains(&share(under_floor, n)),
        "{under_floor} of {n} under the floor"
    );
    assert!(
        share(over_dollar, n) >= 0.4,
        "{over_dollar} of {n} over a dollar"
    );
}

#[test]
fn a_faithful_trader_mostly_consents() {
    let (mut n, mut consent, mut modify) = (0, 0, 0);
    for seed in SEEDS {
        let (judged, _) = reconcile(&run(seed, Persona::Faithful));
        for j in sales(&judged) {
            n += 1;
            if j.m.match_type == MatchType::Consent {
                // Answered the day it was sent: inside the response window.
                assert_eq!(
                    j.day,
                    day_of(j.rec.created_at, chrono_tz::America::Los_Angeles)
                );
            }
            consent += usize::from(j.m.match_type == MatchType::Consent);
            modify += usize::from(j.m.match_type == MatchType::Modify);
        }
    }
    assert!(share(consent, n) >= 0.88, "{consent} of {n} consent");
    assert!(share(modify, n) <= 0.02, "{modify} of {n} modify");
}

#[test]
fn an_adds_week_trader_mostly_modifies_by_seven_days() {
    for persona in [Persona::AddsWeek, Persona::Combined] {
        let (mut n, mut shifted) = (0, 0);
        for seed in SEEDS {
            let (judged, _) = reconcile(&run(seed, persona));
            for j in sales(&judged) {
                if persona == Persona::Combined && j.rec.premium < PREMIUM_FLOOR {
                    continue;
                }
                n += 1;
                let plus_week =
                    j.m.match_type == MatchType::Modify && j.m.modifications == ["dte+7"];
                shifted += usize::from(plus_week);
                if plus_week {
                    assert_eq!(j.m.diff.dte, Some(7));
                    assert_eq!(j.m.diff.strike, Some(Money::ZERO));
                }
            }
        }
        let s = share(shifted, n);
        assert!(
            (0.72..=0.9).contains(&s),
            "{persona}: {shifted} of {n} dte+7"
        );
    }
}

#[test]
fn a_premium_floor_trader_rejects_exactly_the_premiums_under_the_floor() {
    for persona in [Persona::PremiumFloor, Persona::Combined] {
        let (mut under, mut over, mut over_rejected) = (0, 0, 0);
        for seed in SEEDS {
            let (judged, _) = reconcile(&run(seed, persona));
            for j in sales(&judged) {
                let rejected = j.m.match_type == MatchType::Reject;
                if j.rec.premium < PREMIUM_FLOOR {
                    under += 1;
                    assert!(rejected, "{persona}: {} {:?}", j.rec.premium, j.m);
                } else {
                    over += 1;
                    over_rejected += usize::from(rejected);
                }
            }
            // Without chance skips the rejections are the floor and nothing else.
            let exact = simulate(&SimConfig {
                ignore_rate: 0.0,
                ..config(seed, persona)
            });
            let (judged, _) = reconcile(&exact);
            for j in sales(&judged) {
                let rejected = j.m.match_type == MatchType::Reject;
                assert_eq!(
                    rejected,
                    j.rec.premium < PREMIUM_FLOOR,
                    "{persona}: {:?}",
                    j.rec
                );
            }
        }
        assert!(under >= 20, "{persona}: only {under} under the floor");
        assert!(
            share(over_rejected, over) <= 0.1,
            "{over_rejected} of {over}"
        );
    }
}

#[test]
fn a_trader_avoiding_tsla_rejects_every_tsla_recommendation() {
    let (mut tsla, mut others, mut others_consent) = (0, 0, 0);
    for seed in SEEDS {
        let out = run(seed, Persona::AvoidsSymbol);
        assert!(
            out.executions
                .iter()
                .all(|e| e.contract.underlying.as_str() != AVOIDED_SYMBOL),
            "TSLA is never traded"
        );
        let (judged, _) = reconcile(&out);
        for j in sales(&judged) {
            if j.rec.contract.underlying.as_str() == AVOIDED_SYMBOL {
                tsla += 1;
                assert_eq!(j.m.match_type, MatchType::Reject, "{:?}", j.rec);
            } else {
                others += 1;
                others_consent += usize::from(j.m.match_type == MatchType::Consent);
            }
        }
    }
    assert!(tsla >= 20, "only {tsla} TSLA recommendations");
    assert!(share(others_consent, others) >= 0.88);
}

#[test]
fn a_trader_avoiding_earnings_rejects_every_sale_spanning_them() {
    let (mut spanning, mut other, mut other_consent) = (0, 0, 0);
    for seed in SEEDS {
        let (judged, _) = reconcile(&run(seed, Persona::AvoidsEarnings));
        for j in sales(&judged) {
            let day = day_of(j.rec.created_at, chrono_tz::America::Los_Angeles);
            if spans_earnings(day, j.rec.contract.expiration, j.rec.context.earnings_date) {
                spanning += 1;
                assert_eq!(j.m.match_type, MatchType::Reject, "{:?}", j.rec);
            } else {
                other += 1;
                other_consent += usize::from(j.m.match_type == MatchType::Consent);
            }
        }
    }
    assert!(spanning >= 20, "only {spanning} sales span earnings");
    assert!(share(other_consent, other) >= 0.88);
}

#[test]
fn trades_of_the_traders_own_reconcile_as_independent() {
    let mut independent = 0;
    for seed in SEEDS {
        let (_, all) = reconcile(&run(seed, Persona::Faithful));
        for (_, m) in &all {
            if m.match_type == MatchType::Independent {
                independent += 1;
                assert!(m.recommendation.is_none() && !m.executions.is_empty());
            }
        }
    }
    assert!(independent >= 20, "only {independent} independent trades");
}

#[test]
fn every_position_settles_once_its_expiration_close_exists() {
    for seed in SEEDS {
        for persona in Persona::ALL {
            let out = run(seed, *persona);
            let (recs, execs, closes) = (
                out.stored_recommendations(),
                out.stored_executions(),
                out.closes(),
            );
            let as_of = out.last_day().unwrap();
            let book = Book::build(&execs, &closes, as_of, out.tz);
            let (_, all) = reconcile(&out);
            let mut statuses: BTreeMap<OutcomeStatus, usize> = BTreeMap::new();
            for (day, m) in &all {
                let fills: Vec<_> = m
                    .executions
                    .iter()
                    .map(|id| execs[(*id - 1) as usize].clone())
                    .collect();
                let view = MatchView {
                    match_type: m.match_type,
                    day: *day,
                    recommendation: m.recommendation.map(|id| recs[(id - 1) as usize].clone()),
                    trades: group_fills(&fills, out.tz),
                };
                let outcomes = outcomes_for(&view, &book, &execs, &closes, as_of, out.tz);
                assert!(!outcomes.is_empty(), "{m:?}");
                for o in outcomes {
                    assert!(o.status.is_final(), "{persona} seed {seed}: {o:?} of {m:?}");
                    assert!(o.realized_pnl.is_some(), "{o:?}");
                    *statuses.entry(o.status).or_default() += 1;
                }
            }
            assert!(
                statuses
                    .get(&OutcomeStatus::Expired)
                    .is_some_and(|n| *n > 10)
            );
            assert!(
                statuses.contains_key(&OutcomeStatus::Assigned),
                "{statuses:?}"
            );
            assert!(
                statuses
                    .get(&OutcomeStatus::Closed)
                    .is_some_and(|n| *n > 10)
            );
            // The simulated algorithm and trader never roll.
            assert!(
                !statuses.contains_key(&OutcomeStatus::Rolled),
                "{statuses:?}"
            );
        }
    }
}

#[test]
fn without_the_expiration_close_a_position_awaits_its_price() {
    let out = run(2, Persona::Faithful);
    let as_of = out.last_day().unwrap();
    let event = out
        .executions
        .iter()
        .find(|e| e.action.is_lifecycle())
        .expect("something expires");
    // Only the trades: without the broker's event, the close must settle the position.
    let trades: Vec<_> = out
        .stored_executions()
        .into_iter()
        .filter(|e| !e.action.is_lifecycle() && e.contract == event.contract)
        .collect();
    let view = MatchView {
        match_type: MatchType::Independent,
        day: day_of(trades[0].executed_at, out.tz),
        recommendation: None,
        trades: group_fills(&trades[..1], out.tz),
    };
    let status = |closes: &rlhf_bot::domain::outcome::Closes| {
        let book = Book::build(&trades, closes, as_of, out.tz);
        outcomes_for(&view, &book, &trades, closes, as_of, out.tz)[0].status
    };
    let mut closes = out.closes();
    let want = match event.action {
        ExecAction::Expired => OutcomeStatus::Expired,
        _ => OutcomeStatus::Assigned,
    };
    assert_eq!(status(&closes), want);
    closes.remove(&(event.contract.underlying.clone(), event.contract.expiration));
    assert_eq!(status(&closes), OutcomeStatus::AwaitingPrice);
}

#[test]
fn the_weeks_together_are_the_whole_simulation() {
    let out = run(4, Persona::Combined);
    let mut recs = Vec::new();
    let mut execs = Vec::new();
    let mut prices = Vec::new();
    assert!(
        out.week_count() >= 8 + 3 && out.week_count() <= 8 + 4,
        "{}",
        out.week_count()
    );
    for n in 0..out.week_count() {
        let w = out.week(n);
        assert_eq!(w.planted, out.planted);
        if n < 8 {
            assert!(!w.recommendations.is_empty(), "week {n}");
        } else {
            assert!(w.recommendations.is_empty(), "week {n}");
        }
        recs.extend(w.recommendations);
        execs.extend(w.executions);
        prices.extend(w.prices);
    }
    assert_eq!(recs, out.recommendations);
    assert_eq!(execs, out.executions);
    assert_eq!(prices, out.prices);
    assert!(out.week(out.week_count()).prices.is_empty());
}

#[test]
fn closes_exist_for_every_weekday_until_the_last_expiration() {
    let out = run(5, Persona::AddsWeek);
    let closes = out.closes();
    let last = out
        .executions
        .iter()
        .map(|e| e.contract.expiration)
        .chain(out.recommendations.iter().map(|r| r.contract.expiration))
        .max()
        .unwrap();
    assert_eq!(out.last_day(), Some(last));
    let mut day = out.start;
    while day <= last {
        if day.weekday().num_days_from_monday() < 5 {
            for u in rlhf_bot::sim::UNIVERSE {
                let sym = rlhf_bot::domain::Symbol::parse(u.symbol).unwrap();
                assert!(closes.contains_key(&(sym, day)), "{} {day}", u.symbol);
            }
        }
        day = day.succ_opt().unwrap();
    }
}

#[test]
fn planted_truth_names_each_personas_habit() {
    assert!(run(1, Persona::Faithful).planted.is_nothing());
    let combined = run(1, Persona::Combined).planted;
    assert_eq!(combined.dte_shift_days, Some(7));
    assert_eq!(combined.premium_floor, Some(PREMIUM_FLOOR));
    assert_eq!(
        run(1, Persona::AvoidsSymbol)
            .planted
            .avoided_symbol
            .map(|s| s.to_string()),
        Some(AVOIDED_SYMBOL.to_owned())
    );
    assert!(run(1, Persona::AvoidsEarnings).planted.avoids_earnings);
}

#[test]
fn a_midweek_start_in_another_zone_keeps_every_record_on_its_day() {
    // New York changes to daylight saving time on 2025-03-09, inside these weeks.
    let tz = chrono_tz::America::New_York;
    let out = simulate(&SimConfig {
        start: NaiveDate::from_ymd_opt(2025, 2, 26).unwrap(),
        tz,
        weeks: 3,
        ignore_rate: 0.0,
        independent_rate: 0.0,
        ..config(9, Persona::Faithful)
    });
    assert_eq!(out.start, NaiveDate::from_ymd_opt(2025, 2, 24).unwrap());
    let first = out.recommendations.first().unwrap();
    assert_eq!(day_of(first.created_at, tz), out.start);
    assert_eq!(first.created_at.with_timezone(&tz).hour(), 9);
    for e in out.executions.iter().filter(|e| e.action.is_lifecycle()) {
        assert_eq!(day_of(e.executed_at, tz), e.contract.expiration);
    }
    let (_, all) = reconcile(&out);
    assert!(!all.is_empty());
    assert!(all.iter().all(|(_, m)| m.match_type == MatchType::Consent));
}

/// One match as both the store and the pure core can state it.
type MatchKey = (
    NaiveDate,
    MatchType,
    Option<String>,
    Vec<String>,
    Vec<String>,
);

async fn a_simulation_imported_week_by_week_reconciles_as_the_pure_core_does(db: &common::TestDb) {
    use rlhf_bot::app;
    use rlhf_bot::store::{MatchFilter, RowOutcome};
    let out = simulate(&SimConfig {
        weeks: 3,
        ..config(11, Persona::Combined)
    });
    let (tz, now) = (out.tz, common::now());
    db.store.bind_zone(tz).await.unwrap();
    for n in 0..out.week_count() {
        let w = out.week(n);
        let inserted = |rows: Vec<RowOutcome>| rows.iter().all(|r| *r == RowOutcome::Inserted);
        let store = &db.store;
        assert!(inserted(
            store
                .insert_recommendations(&w.recommendations, tz, now)
                .await
                .unwrap()
        ));
        assert!(inserted(
            store
                .insert_executions(&w.executions, tz, now)
                .await
                .unwrap()
        ));
        assert!(inserted(store.insert_prices(&w.prices, now).await.unwrap()));
        for day in (w.start + chrono::Duration::weeks(i64::from(n)))
            .iter_days()
            .take(7)
        {
            app::reconcile::run_day(store, &MatchRules::default(), tz, day, None, now)
                .await
                .unwrap();
        }
    }
    let mut stored: Vec<MatchKey> = db
        .store
        .matches(&MatchFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                m.day,
                m.match_type,
                m.recommendation,
                m.executions,
                m.modifications,
            )
        })
        .collect();
    let (_, all) = reconcile(&out);
    let mut pure: Vec<MatchKey> = all
        .into_iter()
        .map(|(day, m)| {
            let rec = m
                .recommendation
                .map(|id| out.recommendations[(id - 1) as usize].external_id.clone());
            let refs = m
                .executions
                .iter()
                .map(|id| out.executions[(*id - 1) as usize].broker_ref.clone())
                .collect();
            (day, m.match_type, rec, refs, m.modifications)
        })
        .collect();
    stored.iter_mut().for_each(|m| m.3.sort());
    pure.iter_mut().for_each(|m| m.3.sort());
    stored.sort();
    pure.sort();
    assert!(pure.iter().any(|m| m.1 == MatchType::Modify));
    assert_eq!(stored, pure);

    let report = app::outcomes::run(&db.store, tz, out.last_day().unwrap(), None, now)
        .await
        .unwrap();
    assert!(report.matches > 0);
    for status in report.statuses.keys() {
        let s: OutcomeStatus = status.parse().unwrap();
        assert!(s.is_final(), "{:?}", report.statuses);
    }
}
both!(
    store_round_trip,
    a_simulation_imported_week_by_week_reconciles_as_the_pure_core_does
);

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    #[test]
    fn for_any_seed_and_start_an_obedient_trader_consents_and_every_trade_settles(
        seed in proptest::prelude::any::<u64>(),
        start_offset in 0i64..400,
        weeks in 1u32..=3,
        persona in proptest::sample::select(Persona::ALL.to_vec()),
    ) {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(start_offset);
        let cfg = SimConfig { seed, weeks, start, ..config(seed, persona) };
        let out = simulate(&cfg);
        proptest::prop_assert_eq!(out.start.weekday(), Weekday::Mon);
        proptest::prop_assert!(out.start <= start && start < out.start + chrono::Duration::weeks(1));
        // Every short the trader opened is closed by a buy-back or reported at expiry.
        let mut open: BTreeMap<_, i64> = BTreeMap::new();
        for e in &out.executions {
            let n = open.entry(e.contract.clone()).or_default();
            if e.action == ExecAction::SellToOpen { *n += e.contracts } else { *n -= e.contracts }
        }
        proptest::prop_assert!(open.values().all(|n| *n == 0), "{:?}", open);
        let obedient = simulate(&SimConfig {
            ignore_rate: 0.0,
            independent_rate: 0.0,
            persona: Persona::Faithful,
            ..cfg
        });
        let (judged, all) = reconcile(&obedient);
        proptest::prop_assert_eq!(judged.len(), obedient.recommendations.len());
        proptest::prop_assert!(all.iter().all(|(_, m)| m.match_type == MatchType::Consent));
    }
}

// ---------------------------------------------------------------------------------------
// The core question on simulated money

/// A faithful trader's settled sale: its item's index, the algorithm's P&L held to expiry
/// (fees at the trader's schedule) and its premium.
type Sale = (usize, Money, Money);

/// The learning items of a simulation, as the store would load them: every match with
/// its recommendation's facts, both sides' outcomes and the trader's fee schedule.
fn items_of(out: &SimOutput) -> Vec<Item> {
    let (recs, execs, closes) = (
        out.stored_recommendations(),
        out.stored_executions(),
        out.closes(),
    );
    let as_of = out.last_day().unwrap();
    let book = Book::build(&execs, &closes, as_of, out.tz);
    let fills = execs.iter().filter(|e| !e.action.is_lifecycle());
    let fee_schedule = FeeSchedule {
        fees: fills.clone().map(|e| e.fees).sum(),
        contracts: fills.map(|e| e.contracts).sum(),
    };
    let (_, all) = reconcile(out);
    all.iter()
        .enumerate()
        .map(|(n, (day, m))| {
            let rec = m.recommendation.map(|id| recs[(id - 1) as usize].clone());
            let fills: Vec<_> = m
                .executions
                .iter()
                .map(|id| execs[(*id - 1) as usize].clone())
                .collect();
            let view = MatchView {
                match_type: m.match_type,
                day: *day,
                recommendation: rec.clone(),
                trades: group_fills(&fills, out.tz),
            };
            let outcomes = outcomes_for(&view, &book, &execs, &closes, as_of, out.tz);
            let side = |s: Side| {
                outcomes.iter().find(|o| o.side == s).map(|o| SideOutcome {
                    basis: o.basis,
                    pnl: o.realized_pnl,
                    closed: o.closed_day,
                    fees: o.fees,
                })
            };
            Item {
                match_id: n as i64 + 1,
                day: *day,
                match_type: m.match_type,
                underlying: m.underlying.clone(),
                rec: rec.map(|r| {
                    let created_local = r.created_at.with_timezone(&out.tz).naive_local();
                    RecFacts {
                        action: r.action,
                        created_local,
                        session: rlhf_bot::domain::TradingCalendar::nyse()
                            .session_on_or_after(created_local.date()),
                        right: r.contract.right,
                        strike: r.contract.strike,
                        expiration: r.contract.expiration,
                        dte: (r.contract.expiration - created_local.date()).num_days(),
                        contracts: r.contracts,
                        premium: r.premium,
                        underlying_price: r.context.underlying_price,
                        delta: r.context.delta,
                        iv: r.context.iv,
                        iv_rank: r.context.iv_rank,
                        earnings_date: r.context.earnings_date,
                    }
                }),
                dte_diff: m.diff.dte,
                strike_diff: m.diff.strike,
                contracts_diff: m.diff.contracts,
                modifications: m.modifications.clone(),
                reason: None,
                actual: side(Side::Actual),
                algorithm: side(Side::Algorithm),
                fee_schedule,
            }
        })
        .collect()
}

/// A habit planted on a faithful trader with its money known: the trader rejects, giving
/// `reason`, the sales `pick` chooses from their counterfactual P&L (held to expiry, as
/// the algorithm's side of a rejection is) and their premium.
fn plant(
    out: &SimOutput,
    items: &mut [Item],
    reason: ReasonCode,
    pick: &dyn Fn(&[Sale]) -> Vec<usize>,
) {
    let recs = out.stored_recommendations();
    let closes = out.closes();
    let as_of = out.last_day().unwrap();
    let (_, all) = reconcile(out);
    let mut sales = Vec::new();
    for (n, (_, m)) in all.iter().enumerate() {
        let Some(id) = m.recommendation else { continue };
        let rec = &recs[(id - 1) as usize];
        if m.match_type != MatchType::Consent || rec.action != RecAction::SellToOpen {
            continue;
        }
        let cf = counterfactual(rec, &closes, as_of, out.tz);
        let fee = items[n].fee_schedule.for_contracts(rec.contracts);
        if let Some(pnl) = cf.realized_pnl {
            sales.push((n, pnl - fee, rec.premium.times(100 * rec.contracts)));
        }
    }
    for n in pick(&sales) {
        let rec = recs[(all[n].1.recommendation.unwrap() - 1) as usize].clone();
        let cf = counterfactual(&rec, &closes, as_of, out.tz);
        let i = &mut items[n];
        i.match_type = MatchType::Reject;
        i.dte_diff = None;
        i.strike_diff = None;
        i.contracts_diff = None;
        i.modifications.clear();
        i.reason = Some(reason);
        i.actual = None;
        i.algorithm = Some(SideOutcome {
            basis: cf.basis,
            pnl: cf.realized_pnl,
            closed: cf.closed_day,
            fees: cf.fees,
        });
    }
}

/// The `n` sales first in `order` among those `keep` accepts.
fn first(
    sales: &[Sale],
    n: usize,
    keep: impl Fn(Money) -> bool,
    order: impl Fn(Money) -> i64,
) -> Vec<usize> {
    let mut chosen: Vec<&Sale> = sales.iter().filter(|s| keep(s.1)).collect();
    chosen.sort_by_key(|s| (order(s.1), s.0));
    chosen.iter().take(n).map(|s| s.0).collect()
}

/// Saves money, though the algorithm wins more often: the trader skips the ten sales
/// that lose the most, and twenty that win the least.
fn skips_big_losers(sales: &[Sale]) -> Vec<usize> {
    let mut picked = first(sales, 10, |p| p < Money::ZERO, Money::units);
    picked.extend(first(sales, 20, |p| p > Money::ZERO, Money::units));
    picked
}

/// Loses money, though the trader is more often better: the trader skips the fifteen
/// sales that win the most, and twenty that lose the least.
fn skips_big_winners(sales: &[Sale]) -> Vec<usize> {
    let mut picked = first(sales, 15, |p| p > Money::ZERO, |p| -p.units());
    picked.extend(first(sales, 20, |p| p < Money::ZERO, |p| -p.units()));
    picked
}

/// The verdict on one reason code, and whether the habit made money (trader − algorithm).
fn reason_verdict(items: &[Item], code: ReasonCode) -> Option<(VerdictKind, Money, String)> {
    verdicts(&[], items, &VerdictConfig::default())
        .into_iter()
        .find(|v| v.subject == VerdictSubject::Reason { code })
        .map(|v| (v.kind, v.difference.total, v.sentence))
}

const MONEY_SEEDS: std::ops::RangeInclusive<u64> = 1..=100;

#[test]
fn the_verdict_follows_the_money_of_a_planted_habit_in_at_least_95_percent_of_seeds() {
    let (mut saves, mut saves_right, mut loses, mut loses_right) = (0, 0, 0, 0);
    let (mut disagree_saves, mut disagree_loses) = (0, 0);
    for seed in MONEY_SEEDS {
        let out = run(seed, Persona::Faithful);
        let clean = items_of(&out);
        let mut items = clean.clone();
        plant(&out, &mut items, ReasonCode::RiskTooHigh, &skips_big_losers);
        if let Some((kind, made, sentence)) = reason_verdict(&items, ReasonCode::RiskTooHigh) {
            assert!(
                made > Money::ZERO,
                "seed {seed}: the habit saves money by construction"
            );
            saves += 1;
            saves_right += usize::from(matches!(
                kind,
                VerdictKind::TraderRight | VerdictKind::Information
            ));
            disagree_saves += usize::from(sentence.contains(
                "The algorithm wins more often but loses more when it loses: your habit saved",
            ));
        }
        let mut items = clean;
        plant(&out, &mut items, ReasonCode::GutFeeling, &skips_big_winners);
        if let Some((kind, made, sentence)) = reason_verdict(&items, ReasonCode::GutFeeling) {
            assert!(
                made < Money::ZERO,
                "seed {seed}: the habit loses money by construction"
            );
            loses += 1;
            loses_right += usize::from(kind == VerdictKind::AlgorithmRight);
            disagree_loses += usize::from(
                sentence
                    .contains("You win more often but lose more when you lose: your habit cost"),
            );
        }
    }
    println!(
        "saves money: trader_right {saves_right}/{saves} (wins disagree, said {disagree_saves}); \
         loses money: algorithm_right {loses_right}/{loses} (said {disagree_loses})"
    );
    let seeds = MONEY_SEEDS.count();
    assert_eq!(
        (saves, loses),
        (seeds, seeds),
        "every seed plants both habits"
    );
    assert!(saves_right * 100 >= 95 * saves, "{saves_right} of {saves}");
    assert!(loses_right * 100 >= 95 * loses, "{loses_right} of {loses}");
    assert!(disagree_saves * 100 >= 95 * saves && disagree_loses * 100 >= 95 * loses);
}
