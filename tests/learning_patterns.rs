//! The pattern catalog, proposals, backtests and verdicts of `rlhf_bot::learning`, on
//! hand-built items (one builder per kind of behaviour) and on simulated traders: each
//! pattern is found with the right effect and subject, nothing is found under the
//! minimum sample, BH is applied across all tests, the output does not depend on item
//! order, and a faithful trader's noise gives nothing.
//!
//! Every simulated account trades 8 weeks × 5 weekdays × 3–6 recommendations (the
//! realistic look-back). `detection_benchmark` prints the measured rates with
//! `--nocapture`.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};

use rlhf_bot::domain::{MatchType, Money, ReasonCode, RecAction, Right, Symbol};
use rlhf_bot::learning::patterns::{
    Change, EffectUnit, IvMeasure, Pattern, PatternConfig, PatternKey, backtest, detect, proposal,
    run,
};
use rlhf_bot::learning::stats::benjamini_hochberg;
use rlhf_bot::learning::verdict::{VerdictConfig, VerdictKind, VerdictSubject, verdicts};
use rlhf_bot::learning::{FeeSchedule, Item, RecFacts, SideOutcome};

// ---------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------

fn cents(c: i64) -> Money {
    Money::from_cents(c)
}

/// A Monday.
fn start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 6).unwrap()
}

/// A consented sell-to-open recommendation: AAPL put, strike $100, 30 DTE, 1 contract,
/// $1.00 premium, made on `day` at 07:00; both sides made $100.
fn item(id: i64, day: NaiveDate) -> Item {
    let created = NaiveDateTime::new(day, NaiveTime::from_hms_opt(7, 0, 0).unwrap());
    Item {
        match_id: id,
        day,
        match_type: MatchType::Consent,
        underlying: Symbol::parse("AAPL").unwrap(),
        rec: Some(RecFacts {
            action: RecAction::SellToOpen,
            created_local: created,
            session: rlhf_bot::domain::TradingCalendar::nyse().session_on_or_after(created.date()),
            right: Right::Put,
            strike: Money::from_dollars(100),
            expiration: day + Duration::days(30),
            dte: 30,
            contracts: 1,
            premium: cents(100),
            underlying_price: Some(Money::from_dollars(105)),
            delta: Some(-0.25),
            iv: Some(0.35),
            iv_rank: Some(50.0),
            earnings_date: None,
        }),
        dte_diff: Some(0),
        strike_diff: Some(Money::ZERO),
        contracts_diff: Some(0),
        modifications: vec![],
        reason: None,
        actual: Some(SideOutcome::position(Money::from_dollars(100), day)),
        algorithm: Some(SideOutcome::position(Money::from_dollars(100), day)),
        fee_schedule: FeeSchedule::default(),
    }
}

/// `n` consented items on consecutive weekdays (ids from `first`).
fn consents(first: i64, n: usize) -> Vec<Item> {
    (0..n)
        .map(|k| {
            let week = (k / 5) as i64;
            let wd = (k % 5) as i64;
            item(first + k as i64, start() + Duration::days(7 * week + wd))
        })
        .collect()
}

trait Edit {
    fn reject(self) -> Self;
    fn modify_dte(self, days: i64) -> Self;
    fn symbol(self, s: &str) -> Self;
    fn premium(self, c: i64) -> Self;
    fn reason(self, r: ReasonCode) -> Self;
    fn pnl(self, actual: Option<i64>, algorithm: Option<i64>) -> Self;
    fn rec_mut(&mut self) -> &mut RecFacts;
}

impl Edit for Item {
    fn reject(mut self) -> Self {
        self.match_type = MatchType::Reject;
        self.dte_diff = None;
        self.strike_diff = None;
        self.contracts_diff = None;
        // Nothing executed: the ledger counts the trader's side as 0.
        self.actual = None;
        self
    }
    fn modify_dte(mut self, days: i64) -> Self {
        self.match_type = MatchType::Modify;
        self.dte_diff = Some(days);
        self.modifications = vec![format!("dte{days:+}")];
        self
    }
    fn symbol(mut self, s: &str) -> Self {
        self.underlying = Symbol::parse(s).unwrap();
        self
    }
    fn premium(mut self, c: i64) -> Self {
        self.rec_mut().premium = cents(c);
        self
    }
    fn reason(mut self, r: ReasonCode) -> Self {
        self.reason = Some(r);
        self
    }
    fn pnl(mut self, actual: Option<i64>, algorithm: Option<i64>) -> Self {
        let day = self.day;
        let side = |pnl: Option<i64>| {
            Some(SideOutcome {
                pnl: pnl.map(Money::from_dollars),
                closed: pnl.map(|_| day),
                ..SideOutcome::position(Money::ZERO, day)
            })
        };
        let rejected = self.match_type == MatchType::Reject;
        self.actual = if rejected { None } else { side(actual) };
        self.algorithm = side(algorithm);
        self
    }
    fn rec_mut(&mut self) -> &mut RecFacts {
        self.rec.as_mut().unwrap()
    }
}

fn find(patterns: &[Pattern], key: PatternKey) -> Vec<&Pattern> {
    patterns.iter().filter(|p| p.key == key).collect()
}

fn keys(patterns: &[Pattern]) -> Vec<(PatternKey, Option<String>)> {
    patterns
        .iter()
        .map(|p| (p.key, p.subject.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Each pattern, by hand
// ---------------------------------------------------------------------------------------

#[test]
fn a_trader_who_adds_a_week_shows_a_dte_shift_of_seven_days() {
    let items: Vec<Item> = consents(1, 40)
        .into_iter()
        .map(|i| {
            if i.match_id % 4 == 0 {
                i
            } else {
                i.modify_dte(7)
            }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    let dte = find(&patterns, PatternKey::DteShift);
    assert_eq!(dte.len(), 1, "{patterns:#?}");
    let p = dte[0];
    assert_eq!(p.effect, 7.0);
    assert_eq!(p.unit, EffectUnit::Days);
    assert_eq!(p.n, 30);
    assert_eq!(p.subject, None);
    assert_eq!(p.match_ids.len(), 30);
    assert!(
        p.description
            .starts_with("User adds 7 days on average to DTE")
    );
    assert!(p.q_value <= 0.05 && p.p_value <= p.q_value);
    let prop = proposal(p).unwrap();
    assert_eq!(prop.title, "Increase default DTE by 7 days");
    assert_eq!(prop.change, Change::ShiftDte { days: 7 });
}

#[test]
fn a_dte_shift_under_the_minimum_sample_is_not_tested() {
    let items: Vec<Item> = consents(1, 40)
        .into_iter()
        .map(|i| if i.match_id <= 5 { i.modify_dte(7) } else { i })
        .collect();
    let cfg = PatternConfig {
        min_samples: 8,
        ..PatternConfig::default()
    };
    let detection = run(&items, &cfg);
    assert!(find(&detection.patterns, PatternKey::DteShift).is_empty());
    assert!(
        detection
            .tests
            .iter()
            .all(|t| t.key != PatternKey::DteShift)
    );
    // The same five with a lower minimum are tested (and, 5 of 40, still not a habit).
    let low = PatternConfig {
        min_samples: 5,
        ..cfg
    };
    let detection = run(&items, &low);
    assert!(
        detection
            .tests
            .iter()
            .any(|t| t.key == PatternKey::DteShift)
    );
    assert!(find(&detection.patterns, PatternKey::DteShift).is_empty());
}

#[test]
fn rejecting_low_premiums_shows_the_threshold_found_from_the_data() {
    // Premiums $0.05 … $1.60 in 5-cent steps, four of each; everything under $0.30 is
    // rejected, plus two rejections above it.
    let mut items = Vec::new();
    let mut id = 0;
    for step in 1..=32 {
        for _ in 0..4 {
            id += 1;
            let c = 5 * step;
            let i = item(id, start() + Duration::days(id % 40)).premium(c);
            items.push(if c < 30 || id == 77 || id == 101 {
                i.reject()
            } else {
                i
            });
        }
    }
    let patterns = detect(&items, &PatternConfig::default());
    let low = find(&patterns, PatternKey::LowPremiumRejection);
    assert_eq!(low.len(), 1, "{patterns:#?}");
    let p = low[0];
    let t = p.threshold.unwrap();
    assert!((t - cents(30)).abs() <= cents(5), "threshold {t}");
    assert_eq!(p.effect, 100.0);
    assert_eq!(p.unit, EffectUnit::RatePercent);
    assert_eq!(p.match_ids.len(), 20);
    assert!(p.test.contains("permutation"));
    assert!(
        p.description
            .starts_with("User rejects low-premium recommendations (under $0.")
    );
    let prop = proposal(p).unwrap();
    assert_eq!(
        prop.title,
        format!("Add minimum premium filter ({})", t.to_dollars_display())
    );
    assert_eq!(prop.change, Change::MinPremium { min: t });
    // Nothing else: the two rejections above the threshold are noise.
    assert_eq!(patterns.len(), 1, "{patterns:#?}");
}

#[test]
fn avoiding_one_symbol_names_the_symbol() {
    let symbols = ["AAPL", "MSFT", "TSLA", "NVDA", "SPY"];
    let items: Vec<Item> = consents(1, 100)
        .into_iter()
        .map(|i| {
            let s = symbols[(i.match_id % 5) as usize];
            let i = i.symbol(s);
            if s == "TSLA" { i.reject() } else { i }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    assert_eq!(
        keys(&patterns),
        vec![(PatternKey::SymbolRejection, Some("TSLA".to_owned()))]
    );
    let p = &patterns[0];
    assert_eq!(p.n, 20);
    assert_eq!(p.effect, 100.0);
    assert_eq!(p.baseline, Some(0.0));
    assert!(p.description.starts_with("User avoids TSLA"));
    let prop = proposal(p).unwrap();
    assert_eq!(prop.title, "Skip TSLA");
    assert_eq!(
        prop.change,
        Change::SkipSymbol {
            symbol: "TSLA".to_owned()
        }
    );
}

#[test]
fn avoiding_earnings_is_found_from_rejections_and_shortened_expiries() {
    let items: Vec<Item> = consents(1, 90)
        .into_iter()
        .map(|mut i| {
            if i.match_id % 3 == 0 {
                // Earnings 10 days out, inside the 30-day expiry.
                let e = i.day + Duration::days(10);
                i.rec_mut().earnings_date = Some(e);
                if i.match_id % 2 == 0 {
                    i.reject()
                } else {
                    i.modify_dte(-25)
                }
            } else {
                // Earnings after the expiry: not spanned.
                let e = i.day + Duration::days(60);
                i.rec_mut().earnings_date = Some(e);
                i
            }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    let e = find(&patterns, PatternKey::EarningsAvoidance);
    assert_eq!(e.len(), 1, "{patterns:#?}");
    assert_eq!(e[0].n, 30);
    assert_eq!(e[0].effect, 100.0);
    assert_eq!(
        proposal(e[0]).unwrap().title,
        "Skip recommendations spanning earnings"
    );
}

#[test]
fn smaller_sizes_show_a_contract_reduction() {
    let items: Vec<Item> = consents(1, 40)
        .into_iter()
        .map(|mut i| {
            i.rec_mut().contracts = 4;
            if i.match_id % 4 != 0 {
                i.match_type = MatchType::Modify;
                i.contracts_diff = Some(-2);
            }
            i
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    assert_eq!(keys(&patterns), vec![(PatternKey::ContractReduction, None)]);
    assert_eq!(patterns[0].effect, -50.0);
    assert_eq!(patterns[0].unit, EffectUnit::Percent);
    let prop = proposal(&patterns[0]).unwrap();
    assert_eq!(prop.title, "Reduce default size by 50%");
}

#[test]
fn strikes_moved_away_from_the_money_show_a_strike_shift() {
    // Puts at $100 moved to $95: 5 % further out of the money.
    let items: Vec<Item> = consents(1, 40)
        .into_iter()
        .map(|mut i| {
            if i.match_id % 4 != 0 {
                i.match_type = MatchType::Modify;
                i.strike_diff = Some(Money::from_dollars(-5));
            }
            i
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    assert_eq!(keys(&patterns), vec![(PatternKey::StrikeShift, None)]);
    assert!((patterns[0].effect - 5.0).abs() < 1e-9);
    assert_eq!(
        proposal(&patterns[0]).unwrap().title,
        "Move strikes 5% further out of the money"
    );
}

#[test]
fn rejecting_low_iv_shows_an_iv_rank_threshold() {
    let items: Vec<Item> = consents(1, 120)
        .into_iter()
        .map(|mut i| {
            let rank = (i.match_id % 40) as f64 * 2.5;
            i.rec_mut().iv_rank = Some(rank);
            if rank < 20.0 { i.reject() } else { i }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    let iv = find(&patterns, PatternKey::LowIvRejection);
    assert_eq!(iv.len(), 1, "{patterns:#?}");
    let t = iv[0].threshold_value.unwrap();
    assert!((t - 20.0).abs() <= 2.5, "{t}");
    assert_eq!(iv[0].subject.as_deref(), Some("iv_rank"));
    let prop = proposal(iv[0]).unwrap();
    assert_eq!(
        prop.change,
        Change::MinIv {
            measure: IvMeasure::IvRank,
            min: t
        }
    );
}

#[test]
fn diverging_on_mondays_is_a_weekday_effect() {
    let items: Vec<Item> = consents(1, 100)
        .into_iter()
        .map(|i| if i.match_id % 5 == 1 { i.reject() } else { i })
        .collect();
    // Items 1, 6, 11, … fall on Mondays.
    let patterns = detect(&items, &PatternConfig::default());
    let w = find(&patterns, PatternKey::WeekdayEffect);
    assert_eq!(w.len(), 1, "{patterns:#?}");
    assert_eq!(w[0].subject.as_deref(), Some("Monday"));
    assert!(
        w[0].description
            .starts_with("User diverges more often on Mondays")
    );
    assert_eq!(
        proposal(w[0]).unwrap().change,
        Change::SkipWeekday {
            weekday: "Monday".to_owned()
        }
    );
}

#[test]
fn diverging_early_in_the_day_is_a_time_of_day_effect() {
    let items: Vec<Item> = consents(1, 90)
        .into_iter()
        .map(|mut i| {
            let hour = [6, 9, 12][(i.match_id % 3) as usize];
            let r = i.rec_mut();
            r.created_local = NaiveDateTime::new(
                r.created_local.date(),
                NaiveTime::from_hms_opt(hour, 15, 0).unwrap(),
            );
            if hour == 6 { i.reject() } else { i }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    let t = find(&patterns, PatternKey::TimeOfDayEffect);
    assert_eq!(t.len(), 1, "{patterns:#?}");
    assert_eq!(t[0].subject.as_deref(), Some("00:00–08:00"));
    assert_eq!(t[0].effect, 100.0);
    assert_eq!(
        proposal(t[0]).unwrap().change,
        Change::SkipHours {
            from_hour: 0,
            to_hour: 8
        }
    );
}

#[test]
fn one_reason_given_most_of_the_time_dominates() {
    let items: Vec<Item> = consents(1, 60)
        .into_iter()
        .map(|i| match i.match_id % 3 {
            0 => i.reject().reason(ReasonCode::EarningsConcern),
            1 if i.match_id % 4 == 1 => i.reject().reason(ReasonCode::Timing),
            _ => i,
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    let r = find(&patterns, PatternKey::ReasonDominance);
    assert_eq!(r.len(), 1, "{patterns:#?}");
    assert_eq!(r[0].subject.as_deref(), Some("earnings_concern"));
    let prop = proposal(r[0]).unwrap();
    assert_eq!(prop.title, "Add an earnings-date input");
    assert_eq!(
        prop.change,
        Change::AddDataInput {
            input: "earnings_date".to_owned()
        }
    );
}

// ---------------------------------------------------------------------------------------
// The run as a whole
// ---------------------------------------------------------------------------------------

#[test]
fn a_symbol_that_only_has_low_premiums_is_explained_by_the_premium_floor() {
    // F always pays under $0.30 and is always rejected, like every other cheap premium:
    // "avoids F" would only restate the floor.
    let items: Vec<Item> = consents(1, 150)
        .into_iter()
        .map(|i| {
            let id = i.match_id;
            let i = if id % 5 == 0 {
                i.symbol("F").premium(10 + id % 19)
            } else {
                i.symbol(["AAPL", "MSFT", "SPY", "NVDA"][(id % 4) as usize])
                    .premium(15 + (id * 37) % 200)
            };
            let cheap = i.rec.as_ref().unwrap().premium < cents(30);
            if cheap { i.reject() } else { i }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    assert_eq!(
        keys(&patterns),
        vec![(PatternKey::LowPremiumRejection, None)],
        "{patterns:#?}"
    );
    let detection = run(&items, &PatternConfig::default());
    let f = detection
        .tests
        .iter()
        .find(|t| t.subject.as_deref() == Some("F"))
        .unwrap();
    assert!(f.q_value <= 0.05 && !f.reported);
}

#[test]
fn a_reported_dte_habit_is_not_restated_as_a_weekday_effect() {
    // The trader moves expiries on Mondays only — a DTE habit; the Monday divergences are
    // those same modifications.
    let items: Vec<Item> = consents(1, 100)
        .into_iter()
        .map(|i| {
            if i.match_id % 5 == 1 {
                i.modify_dte(7)
            } else {
                i
            }
        })
        .collect();
    let patterns = detect(&items, &PatternConfig::default());
    assert_eq!(
        keys(&patterns),
        vec![(PatternKey::DteShift, None)],
        "{patterns:#?}"
    );
}

#[test]
fn q_values_are_benjamini_hochberg_over_every_test_of_the_run() {
    let items = simulate(&Trader::Symbol("TSLA"), 7);
    let detection = run(&items, &PatternConfig::default());
    assert!(detection.tests.len() > 10);
    assert!(detection.tests.iter().any(|t| !t.reported));
    let p: Vec<f64> = detection.tests.iter().map(|t| t.p_value).collect();
    let q = benjamini_hochberg(&p).unwrap();
    for (t, q) in detection.tests.iter().zip(q) {
        assert_eq!(t.q_value, q);
        assert!(t.q_value >= t.p_value);
    }
    for p in &detection.patterns {
        let t = detection
            .tests
            .iter()
            .find(|t| t.key == p.key && t.subject == p.subject)
            .unwrap();
        assert!(t.reported);
        assert_eq!(t.q_value, p.q_value);
        assert!(p.q_value <= 0.05);
    }
}

#[test]
fn the_same_items_in_any_order_give_the_same_patterns() {
    let items = simulate(&Trader::LowPremium(30), 11);
    let first = run(&items, &PatternConfig::default());
    let mut reversed = items.clone();
    reversed.reverse();
    let mut interleaved: Vec<Item> = items.iter().step_by(2).cloned().collect();
    interleaved.extend(items.iter().skip(1).step_by(2).cloned());
    assert!(!first.patterns.is_empty());
    assert_eq!(run(&items, &PatternConfig::default()), first);
    assert_eq!(run(&reversed, &PatternConfig::default()), first);
    assert_eq!(run(&interleaved, &PatternConfig::default()), first);
}

#[test]
fn no_items_and_no_divergences_give_no_patterns() {
    assert!(detect(&[], &PatternConfig::default()).is_empty());
    assert!(detect(&consents(1, 200), &PatternConfig::default()).is_empty());
}

#[test]
fn a_faithful_traders_noise_gives_no_pattern() {
    for seed in 1..=20 {
        let items = simulate(&Trader::Faithful, seed);
        let patterns = detect(&items, &PatternConfig::default());
        assert!(patterns.is_empty(), "seed {seed}: {patterns:#?}");
    }
}

#[test]
fn patterns_serialize_with_the_contract_key_names() {
    let items = simulate(&Trader::DteShift(7), 3);
    let patterns = detect(&items, &PatternConfig::default());
    let json = serde_json::to_value(&patterns).unwrap();
    assert_eq!(json[0]["key"], "dte_shift");
    assert_eq!(json[0]["unit"], "days");
    assert!(json[0]["q_value"].is_number());
    let change = serde_json::to_value(Change::MinPremium { min: cents(25) }).unwrap();
    assert_eq!(
        change,
        serde_json::json!({"kind": "min_premium", "min": "0.25"})
    );
    for k in PatternKey::ALL {
        assert_eq!(k.as_str().parse::<PatternKey>().unwrap(), *k);
    }
    assert!("dte shift".parse::<PatternKey>().is_ok());
    assert!("dte".parse::<PatternKey>().is_err());
}

// ---------------------------------------------------------------------------------------
// Backtests
// ---------------------------------------------------------------------------------------

#[test]
fn a_premium_filter_backtest_removes_the_recommendations_under_it() {
    let items = vec![
        item(1, start()).premium(20).pnl(Some(0), Some(20)).reject(),
        item(2, start()).premium(25).pnl(Some(25), Some(25)),
        item(3, start()).premium(29).pnl(None, None),
        item(4, start()).premium(30).pnl(Some(30), Some(30)),
    ];
    let b = backtest(&Change::MinPremium { min: cents(30) }, &items).unwrap();
    assert_eq!(b.affected, 3);
    assert_eq!(b.with_outcomes, 2);
    assert_eq!(b.pnl_before, Money::from_dollars(45));
    assert_eq!(b.pnl_after, Money::ZERO);
    assert_eq!(b.pnl_delta, Money::from_dollars(-45));
    assert_eq!(
        b.summary,
        "Would have skipped 3 recommendations that made $45.00 (1 not final yet)"
    );
    assert_eq!(
        backtest(&Change::MinPremium { min: cents(10) }, &items),
        None
    );
}

#[test]
fn a_dte_backtest_compares_the_traders_shifted_trades_with_the_algorithm() {
    let items = vec![
        item(1, start()).modify_dte(7).pnl(Some(120), Some(-300)),
        item(2, start()).modify_dte(7).pnl(Some(80), Some(100)),
        item(3, start()).pnl(Some(50), Some(50)),
        item(4, start()).modify_dte(-7).pnl(Some(10), Some(20)),
    ];
    let b = backtest(&Change::ShiftDte { days: 7 }, &items).unwrap();
    assert_eq!(b.affected, 2);
    assert_eq!(b.pnl_before, Money::from_dollars(-200));
    assert_eq!(b.pnl_after, Money::from_dollars(200));
    assert_eq!(b.pnl_delta, Money::from_dollars(400));
}

#[test]
fn skipping_a_symbol_backtests_on_that_symbol_only() {
    let items = vec![
        item(1, start())
            .symbol("TSLA")
            .reject()
            .pnl(Some(0), Some(-500)),
        item(2, start())
            .symbol("TSLA")
            .reject()
            .pnl(Some(0), Some(200)),
        item(3, start()).pnl(Some(50), Some(50)),
    ];
    let b = backtest(
        &Change::SkipSymbol {
            symbol: "TSLA".to_owned(),
        },
        &items,
    )
    .unwrap();
    assert_eq!((b.affected, b.with_outcomes), (2, 2));
    assert_eq!(b.pnl_before, Money::from_dollars(-300));
    assert_eq!(b.pnl_delta, Money::from_dollars(300));
}

// ---------------------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------------------

fn symbol_pattern(ids: Vec<i64>) -> Pattern {
    let items = simulate(&Trader::Symbol("TSLA"), 5);
    let mut p = detect(&items, &PatternConfig::default())
        .into_iter()
        .find(|p| p.key == PatternKey::SymbolRejection)
        .unwrap();
    p.match_ids = ids;
    p
}

#[test]
fn a_trader_who_avoids_losers_is_right_and_the_pattern_is_a_candidate() {
    // Ten rejections: the algorithm lost on nine of them, one is not final.
    let mut items: Vec<Item> = (1..=10)
        .map(|id| {
            item(id, start())
                .symbol("TSLA")
                .reject()
                .pnl(Some(0), Some(-100))
        })
        .collect();
    items.push(item(11, start()).symbol("TSLA").reject().pnl(Some(0), None));
    let p = symbol_pattern((1..=11).collect());
    let v = verdicts(&[p], &items, &VerdictConfig::default());
    assert_eq!(v.len(), 1);
    let v = &v[0];
    assert_eq!(v.kind, VerdictKind::TraderRight);
    assert_eq!(
        (v.n, v.skipped, v.trader_better, v.algorithm_better),
        (10, 1, 10, 0)
    );
    assert_eq!(v.trader_pnl_total, Money::ZERO);
    assert_eq!(v.algorithm_pnl_total, Money::from_dollars(-1000));
    assert!(v.p_value.unwrap() < 0.01);
    assert!(matches!(
        v.subject,
        VerdictSubject::Pattern {
            key: PatternKey::SymbolRejection,
            ..
        }
    ));
    assert!(
        v.sentence.contains("a pattern the algorithm misses"),
        "{}",
        v.sentence
    );
}

#[test]
fn a_trader_who_rejects_winners_should_trust_the_algorithm_more() {
    let items: Vec<Item> = (1..=12)
        .map(|id| {
            item(id, start())
                .reject()
                .reason(ReasonCode::GutFeeling)
                .pnl(Some(0), Some(80))
        })
        .collect();
    let v = verdicts(&[], &items, &VerdictConfig::default());
    assert_eq!(v.len(), 1);
    assert_eq!(
        v[0].subject,
        VerdictSubject::Reason {
            code: ReasonCode::GutFeeling
        }
    );
    assert_eq!(v[0].kind, VerdictKind::AlgorithmRight);
    assert!(v[0].sentence.contains("trust the algorithm more"));
}

#[test]
fn being_right_about_earnings_means_the_algorithm_needs_the_data() {
    let items: Vec<Item> = (1..=8)
        .map(|id| {
            item(id, start())
                .reject()
                .reason(ReasonCode::EarningsConcern)
                .pnl(Some(0), Some(-250))
        })
        .collect();
    let v = verdicts(&[], &items, &VerdictConfig::default());
    assert_eq!(v[0].kind, VerdictKind::Information);
    assert!(v[0].sentence.contains("needs that data input"));
}

#[test]
fn mixed_outcomes_and_too_few_items_are_inconclusive_or_left_out() {
    let mut items: Vec<Item> = (1..=10)
        .map(|id| {
            let alg = if id % 2 == 0 { 50 } else { -50 };
            item(id, start())
                .reject()
                .reason(ReasonCode::Timing)
                .pnl(Some(0), Some(alg))
        })
        .collect();
    // Three "risk" divergences: under the minimum, no verdict.
    items.extend((11..=13).map(|id| {
        item(id, start())
            .reject()
            .reason(ReasonCode::RiskTooHigh)
            .pnl(Some(0), Some(-50))
    }));
    let v = verdicts(&[], &items, &VerdictConfig::default());
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].kind, VerdictKind::Inconclusive);
    assert_eq!((v[0].trader_better, v[0].algorithm_better), (5, 5));
    assert_eq!(v[0].p_value, Some(1.0));
}

// ---------------------------------------------------------------------------------------
// Simulated traders and the detection benchmark
// ---------------------------------------------------------------------------------------

/// SplitMix64: a small deterministic generator for the simulation.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// What a simulated trader does besides following the algorithm. Every trader also
/// rejects 5 % of recommendations at random with a random reason; planted rejections
/// carry the fitting reason 80 % of the time.
#[derive(Debug, Clone)]
enum Trader {
    Faithful,
    /// Adds this many days to the expiry of every trade taken.
    DteShift(i64),
    /// Rejects premiums under this many cents.
    LowPremium(i64),
    /// Rejects this symbol.
    Symbol(&'static str),
    /// Rejects recommendations whose expiry spans earnings.
    Earnings,
}

const SYMBOLS: [&str; 8] = ["AAPL", "MSFT", "TSLA", "NVDA", "AMD", "SPY", "KO", "F"];

/// Eight weeks of an account: 3–6 recommendations each weekday.
fn simulate(trader: &Trader, seed: u64) -> Vec<Item> {
    let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xabc);
    // Each symbol reports earnings once a quarter, at a random offset.
    let earnings: Vec<i64> = SYMBOLS.iter().map(|_| rng.range(0, 90)).collect();
    let mut items = Vec::new();
    let mut id = 0;
    for week in 0..8 {
        for wd in 0..5 {
            let day = start() + Duration::days(7 * week + wd);
            for _ in 0..rng.range(3, 6) {
                id += 1;
                let s = rng.range(0, SYMBOLS.len() as i64 - 1) as usize;
                let dte = [7, 14, 21, 30, 45][rng.range(0, 4) as usize];
                let mut i = item(id, day).symbol(SYMBOLS[s]);
                let premium = (10.0 * (250.0f64 / 10.0).powf(rng.unit())).round() as i64;
                let hour = rng.range(6, 12) as u32;
                let offset = (day - start()).num_days();
                let next_earnings =
                    start() + Duration::days(offset + (earnings[s] - offset).rem_euclid(91));
                {
                    let r = i.rec_mut();
                    r.premium = cents(premium);
                    r.dte = dte;
                    r.expiration = day + Duration::days(dte);
                    r.iv_rank = Some(rng.range(0, 100) as f64);
                    r.earnings_date = Some(next_earnings);
                    r.created_local = NaiveDateTime::new(
                        day,
                        NaiveTime::from_hms_opt(hour, rng.range(0, 59) as u32, 0).unwrap(),
                    );
                    r.session = rlhf_bot::domain::TradingCalendar::nyse().session_on_or_after(day);
                }
                let alg = if rng.chance(0.8) {
                    premium
                } else {
                    -rng.range(50, 400)
                };
                i.algorithm = Some(SideOutcome::position(cents(alg * 100), day));
                i.actual = i.algorithm;
                let rec = i.rec.clone().unwrap();
                let planted = match trader {
                    Trader::Faithful | Trader::DteShift(_) => false,
                    Trader::LowPremium(t) => premium < *t,
                    Trader::Symbol(sym) => SYMBOLS[s] == *sym,
                    Trader::Earnings => rec.spans_earnings(),
                };
                let i = if planted {
                    // The trader says why, mostly.
                    let reason = match trader {
                        Trader::LowPremium(_) => ReasonCode::PremiumLow,
                        Trader::Earnings => ReasonCode::EarningsConcern,
                        _ => ReasonCode::RiskTooHigh,
                    };
                    let i = i.reject();
                    if rng.chance(0.8) { i.reason(reason) } else { i }
                } else if rng.chance(0.05) {
                    let reason = ReasonCode::ALL[rng.range(0, 8) as usize];
                    i.reject().reason(reason)
                } else if let Trader::DteShift(d) = trader {
                    i.modify_dte(*d)
                } else {
                    i
                };
                items.push(i);
            }
        }
    }
    items
}

struct Rates {
    detected: usize,
    accurate: usize,
    false_accounts: usize,
    accounts: usize,
}

/// Runs `accounts` simulated accounts of `trader`; a pattern other than the planted
/// key counts as false.
fn measure(trader: &Trader, accounts: u64, first_seed: u64) -> Rates {
    let cfg = PatternConfig::default();
    let mut r = Rates {
        detected: 0,
        accurate: 0,
        false_accounts: 0,
        accounts: accounts as usize,
    };
    for seed in first_seed..first_seed + accounts {
        let items = simulate(trader, seed);
        let patterns = detect(&items, &cfg);
        let (key, subject) = match trader {
            Trader::Faithful => (None, None),
            Trader::DteShift(_) => (Some(PatternKey::DteShift), None),
            Trader::LowPremium(_) => (Some(PatternKey::LowPremiumRejection), None),
            Trader::Symbol(s) => (Some(PatternKey::SymbolRejection), Some(s.to_string())),
            Trader::Earnings => (Some(PatternKey::EarningsAvoidance), None),
        };
        let hit = patterns
            .iter()
            .find(|p| Some(p.key) == key && p.subject == subject);
        if let Some(p) = hit {
            r.detected += 1;
            let accurate = match trader {
                Trader::DteShift(d) => (p.effect - *d as f64).abs() <= 1.0,
                Trader::LowPremium(t) => (p.threshold.unwrap() - cents(*t)).abs() <= cents(5),
                _ => true,
            };
            r.accurate += usize::from(accurate);
        }
        let extra = patterns
            .iter()
            .any(|p| !(Some(p.key) == key && p.subject == subject));
        if extra {
            r.false_accounts += 1;
        }
    }
    r
}

#[test]
fn detection_benchmark() {
    // More accounts for a sharper measurement: LEARNING_BENCH_ACCOUNTS=500.
    let accounts = std::env::var("LEARNING_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let faithful = measure(&Trader::Faithful, accounts, 1000);
    println!(
        "faithful: {} of {} accounts with a (false) pattern",
        faithful.false_accounts, faithful.accounts
    );
    assert!(faithful.false_accounts as f64 <= 0.05 * accounts as f64);
    for trader in [
        Trader::DteShift(7),
        Trader::LowPremium(30),
        Trader::Symbol("TSLA"),
        Trader::Earnings,
    ] {
        let r = measure(&trader, accounts, 2000);
        println!(
            "{trader:?}: detected {}/{}, effect accurate {}/{}, accounts with another pattern {}",
            r.detected, r.accounts, r.accurate, r.accounts, r.false_accounts
        );
        assert!(r.detected as f64 >= 0.95 * accounts as f64, "{trader:?}");
        assert!(r.accurate as f64 >= 0.95 * accounts as f64, "{trader:?}");
        assert!(
            r.false_accounts as f64 <= 0.05 * accounts as f64,
            "{trader:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Proposals
// ---------------------------------------------------------------------------------------

fn pattern(key: PatternKey, subject: Option<&str>, effect: f64, baseline: Option<f64>) -> Pattern {
    Pattern {
        key,
        subject: subject.map(str::to_owned),
        description: String::new(),
        n: 20,
        effect,
        unit: EffectUnit::Percent,
        baseline,
        ci: None,
        p_value: 0.001,
        q_value: 0.01,
        test: "test",
        threshold: None,
        threshold_value: Some(20.0),
        match_ids: vec![],
    }
}

#[test]
fn each_pattern_proposes_its_change_in_the_seeds_voice_or_nothing() {
    let title = |p: Pattern| proposal(&p).map(|p| p.title);
    use PatternKey::*;
    let cases = [
        (
            pattern(DteShift, None, -3.2, None),
            Some("Decrease default DTE by 3 days"),
        ),
        (pattern(DteShift, None, 0.3, None), None),
        (
            pattern(StrikeShift, None, -2.5, None),
            Some("Move strikes 2.5% closer to the money"),
        ),
        (
            pattern(LowIvRejection, Some("iv"), 80.0, None),
            Some("Add minimum IV filter (20)"),
        ),
        (
            pattern(EarningsAvoidance, None, 90.0, Some(5.0)),
            Some("Skip recommendations spanning earnings"),
        ),
        (pattern(ContractReduction, None, 25.0, None), None),
        (
            pattern(WeekdayEffect, Some("Friday"), 10.0, Some(40.0)),
            None,
        ),
        (
            pattern(TimeOfDayEffect, Some("08:00–11:00"), 60.0, Some(10.0)),
            Some("Skip recommendations sent 08:00–11:00"),
        ),
        (
            pattern(ReasonDominance, Some("already_exposed"), 60.0, None),
            Some("Add an existing-exposure input"),
        ),
        (pattern(ReasonDominance, Some("timing"), 60.0, None), None),
        (pattern(LowPremiumRejection, None, 100.0, None), None),
    ];
    for (p, want) in cases {
        let what = format!("{} {:?}", p.key, p.subject);
        assert_eq!(title(p).as_deref(), want, "{what}");
    }
}

#[test]
fn a_data_input_backtest_compares_the_informed_trader_with_the_algorithm() {
    let items = vec![
        item(1, start())
            .reject()
            .reason(ReasonCode::AlreadyExposed)
            .pnl(Some(0), Some(-200)),
        item(2, start())
            .reject()
            .reason(ReasonCode::AlreadyExposed)
            .pnl(Some(0), Some(50)),
        item(3, start())
            .reject()
            .reason(ReasonCode::Timing)
            .pnl(Some(0), Some(70)),
    ];
    let change = Change::AddDataInput {
        input: "existing_exposure".to_owned(),
    };
    let b = backtest(&change, &items).unwrap();
    assert_eq!((b.affected, b.with_outcomes), (2, 2));
    assert_eq!(b.pnl_before, Money::from_dollars(-150));
    assert_eq!(b.pnl_after, Money::ZERO);
    assert_eq!(b.pnl_delta, Money::from_dollars(150));
}

// ---------------------------------------------------------------------------------------
// The verdict follows the money
// ---------------------------------------------------------------------------------------

#[test]
fn a_habit_that_wins_more_often_but_loses_more_is_the_algorithms_verdict() {
    // Like adding a week to DTE for a seller: eighteen small wins of $20 over the
    // algorithm, six losses of $400.
    let mut items: Vec<Item> = (1..=18)
        .map(|id| item(id, start()).modify_dte(7).pnl(Some(120), Some(100)))
        .collect();
    items.extend((19..=24).map(|id| item(id, start()).modify_dte(7).pnl(Some(-300), Some(100))));
    let p = detect(&items, &PatternConfig::default())
        .into_iter()
        .find(|p| p.key == PatternKey::DteShift)
        .unwrap();
    let v = &verdicts(&[p], &items, &VerdictConfig::default())[0];
    assert_eq!((v.trader_better, v.algorithm_better), (18, 6));
    assert!(
        v.p_value.unwrap() < 0.05,
        "the sign test favours the trader"
    );
    assert_eq!(v.difference.total, Money::from_dollars(18 * 20 - 6 * 400));
    assert_eq!(v.difference.mean, Some(Money::from_dollars(-85)));
    assert!(v.difference.ci_high.unwrap() < Money::ZERO);
    assert_eq!(v.kind, VerdictKind::AlgorithmRight);
    assert!(
        v.sentence
            .contains("You win more often but lose more when you lose: your habit cost $2,040.00."),
        "{}",
        v.sentence
    );
}

#[test]
fn a_habit_that_loses_more_often_but_saves_more_is_the_traders_verdict() {
    // Skipping sales: the algorithm makes $50 on twelve of them, loses $900 on six.
    let mut items: Vec<Item> = (1..=12)
        .map(|id| {
            item(id, start())
                .reject()
                .reason(ReasonCode::RiskTooHigh)
                .pnl(Some(0), Some(50))
        })
        .collect();
    items.extend((13..=18).map(|id| {
        item(id, start())
            .reject()
            .reason(ReasonCode::RiskTooHigh)
            .pnl(Some(0), Some(-900))
    }));
    let v = &verdicts(&[], &items, &VerdictConfig::default())[0];
    assert_eq!((v.trader_better, v.algorithm_better), (6, 12));
    assert_eq!(v.kind, VerdictKind::TraderRight);
    assert!(v.difference.ci_low.unwrap() > Money::ZERO);
    assert!(
        v.sentence.contains(
            "The algorithm wins more often but loses more when it loses: your habit saved $4,800.00."
        ),
        "{}",
        v.sentence
    );
}

#[test]
fn a_modification_is_reported_by_its_size() {
    let mut items: Vec<Item> = (1..=10)
        .map(|id| item(id, start()).modify_dte(7).pnl(Some(130), Some(100)))
        .collect();
    items.extend((11..=16).map(|id| item(id, start()).modify_dte(14).pnl(Some(-50), Some(100))));
    let p = detect(&items, &PatternConfig::default())
        .into_iter()
        .find(|p| p.key == PatternKey::DteShift)
        .unwrap();
    let v = &verdicts(&[p], &items, &VerdictConfig::default())[0];
    let sizes: Vec<(&str, usize, Money)> = v
        .by_size
        .iter()
        .map(|s| (s.size.as_str(), s.n, s.difference))
        .collect();
    assert_eq!(
        sizes,
        [
            ("+7 days", 10, Money::from_dollars(300)),
            ("+14 days", 6, Money::from_dollars(-900))
        ]
    );
    assert!(
        v.sentence
            .contains("By size: +7 days saved $300.00 on 10; +14 days cost $900.00 on 6."),
        "{}",
        v.sentence
    );
    // The +7 days the pattern proposes is backtested on the +7-day trades only.
    let b = backtest(&Change::ShiftDte { days: 7 }, &items).unwrap();
    assert_eq!((b.affected, b.pnl_delta), (10, Money::from_dollars(300)));
    assert_eq!(b.cost(), None);
    let b = backtest(&Change::ShiftDte { days: 14 }, &items).unwrap();
    assert_eq!(b.cost().as_deref(), Some("would have cost $900.00"));
}

#[test]
fn too_few_pairs_give_no_verdict_on_money_however_one_sided() {
    let items: Vec<Item> = (1..=5)
        .map(|id| {
            item(id, start())
                .reject()
                .reason(ReasonCode::Timing)
                .pnl(Some(0), Some(-500))
        })
        .collect();
    let cfg = VerdictConfig {
        min_reason_items: 1,
        ..VerdictConfig::default()
    };
    let v = &verdicts(&[], &items, &cfg)[0];
    assert_eq!(v.n, 5);
    assert_eq!(v.difference.ci_low, None);
    assert_eq!(v.kind, VerdictKind::Inconclusive);
}
