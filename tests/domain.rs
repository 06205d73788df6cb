//! The pure core of reconciliation and outcomes (SPEC §3–§5), tested through the public
//! `rlhf_bot::domain` API without a database: examples for each rule, and properties
//! for the invariants that must hold whatever the input.
//!
//! Calendar used throughout (January 2025): Thu 2 · Fri 3 · Mon 6 · Tue 7 · Wed 8 ·
//! Fri 10 · Fri 17 · Fri 24. Every day and time is in `America/Los_Angeles`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;
use chrono_tz::Tz;
use proptest::prelude::*;

use rlhf_bot::domain::outcome::{
    Basis, Book, Closes, MatchView, Outcome, counterfactual, counterfactual_with, outcomes_for,
};
use rlhf_bot::domain::reconcile::{
    ClosureNotice, MatchDraft, MatchRules, closure_notice, group_fills, reconcile_day,
    reconcile_range,
};
use rlhf_bot::domain::{
    AccountId, Contract, ContractError, ExecAction, Execution, MatchType, Money, OutcomeStatus,
    RecAction, RecContext, Recommendation, ResponseWindow, Right, Side, Stored, Symbol,
    TradingCalendar,
};

const TZ: Tz = Los_Angeles;
const ACCOUNT: AccountId = AccountId(1);

// ---------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------

fn d(s: &str) -> NaiveDate {
    s.parse().expect("a YYYY-MM-DD date")
}

fn m(s: &str) -> Money {
    Money::parse(s).expect("a dollar amount")
}

/// A wall-clock time in the schedule zone, as UTC.
fn pt(day: &str, hm: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(&format!("{day} {hm}"), "%Y-%m-%d %H:%M")
        .expect("a day and HH:MM");
    TZ.from_local_datetime(&naive)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn option(symbol: &str, expiration: &str, right: Right, strike: &str) -> Contract {
    Contract::new(
        Symbol::parse(symbol).unwrap(),
        d(expiration),
        right,
        m(strike),
    )
    .unwrap()
}

fn put(symbol: &str, expiration: &str, strike: &str) -> Contract {
    option(symbol, expiration, Right::Put, strike)
}

fn recommendation(
    id: i64,
    at: DateTime<Utc>,
    action: RecAction,
    contract: Contract,
    position: Option<Contract>,
    contracts: i64,
    premium: &str,
) -> Stored<Recommendation> {
    Stored {
        id,
        item: Recommendation {
            account: ACCOUNT,
            external_id: format!("rec-{id}"),
            created_at: at,
            action,
            contract,
            contracts,
            premium: m(premium),
            position,
            context: RecContext::default(),
        },
    }
}

fn sell_rec(
    id: i64,
    at: DateTime<Utc>,
    c: Contract,
    n: i64,
    premium: &str,
) -> Stored<Recommendation> {
    recommendation(id, at, RecAction::SellToOpen, c, None, n, premium)
}

fn close_rec(
    id: i64,
    at: DateTime<Utc>,
    position: Contract,
    n: i64,
    premium: &str,
) -> Stored<Recommendation> {
    recommendation(
        id,
        at,
        RecAction::BuyToClose,
        position.clone(),
        Some(position),
        n,
        premium,
    )
}

fn roll_rec(
    id: i64,
    at: DateTime<Utc>,
    old: Contract,
    new: Contract,
    n: i64,
    net_credit: &str,
) -> Stored<Recommendation> {
    recommendation(id, at, RecAction::Roll, new, Some(old), n, net_credit)
}

fn fill(
    id: i64,
    at: DateTime<Utc>,
    action: ExecAction,
    contract: Contract,
    contracts: i64,
    price: &str,
    fees: &str,
) -> Stored<Execution> {
    Stored {
        id,
        item: Execution {
            account: ACCOUNT,
            broker: "generic".to_owned(),
            broker_ref: format!("ref-{id}"),
            executed_at: at,
            action,
            contract,
            contracts,
            price: m(price),
            fees: m(fees),
        },
    }
}

/// A lifecycle event (expiry, assignment, exercise): no price, no fees.
fn event(
    id: i64,
    at: DateTime<Utc>,
    action: ExecAction,
    contract: Contract,
    contracts: i64,
) -> Stored<Execution> {
    fill(id, at, action, contract, contracts, "0", "0")
}

fn day(
    date: &str,
    recs: &[Stored<Recommendation>],
    execs: &[Stored<Execution>],
) -> Vec<MatchDraft> {
    reconcile_day(d(date), recs, execs, &MatchRules::default(), TZ)
}

fn range(
    from: &str,
    to: &str,
    recs: &[Stored<Recommendation>],
    execs: &[Stored<Execution>],
) -> Vec<(NaiveDate, MatchDraft)> {
    reconcile_range(d(from), d(to), recs, execs, &MatchRules::default(), TZ)
}

/// The draft with `key`, failing the test if there is none.
fn draft<'a>(drafts: &'a [MatchDraft], key: &str) -> &'a MatchDraft {
    drafts
        .iter()
        .find(|x| x.key == key)
        .unwrap_or_else(|| panic!("no match `{key}` in {drafts:#?}"))
}

/// (key, type, recommendation, executions) of a draft: what a trader would read.
type Row = (String, MatchType, Option<i64>, Vec<i64>);
/// A [`Row`] with the day it was reconciled on.
type DatedRow = (NaiveDate, String, MatchType, Option<i64>, Vec<i64>);

/// The [`Row`] of every draft.
fn rows(drafts: &[MatchDraft]) -> Vec<Row> {
    drafts
        .iter()
        .map(|x| {
            (
                x.key.clone(),
                x.match_type,
                x.recommendation,
                x.executions.clone(),
            )
        })
        .collect()
}

fn dated_rows(drafts: &[(NaiveDate, MatchDraft)]) -> Vec<DatedRow> {
    drafts
        .iter()
        .map(|(on, x)| {
            (
                *on,
                x.key.clone(),
                x.match_type,
                x.recommendation,
                x.executions.clone(),
            )
        })
        .collect()
}

fn aapl_jan17_100p() -> Contract {
    put("AAPL", "2025-01-17", "100")
}

// ---------------------------------------------------------------------------------------
// Classification (SPEC §4.4)
// ---------------------------------------------------------------------------------------

/// (recommended strike, days later expiration, traded strike, contracts, type, kinds)
type ClassifyCase = (
    &'static str,
    i64,
    &'static str,
    i64,
    MatchType,
    &'static [&'static str],
);

#[test]
fn a_trade_is_consent_within_tolerance_and_modify_with_named_kinds_outside_it() {
    use MatchType::{Consent, Modify};
    // The recommendation: 2 × AAPL Jan 17 `rec_strike` put. The trade: `days` later
    // expiration, `strike`, `n` contracts.
    #[rustfmt::skip]
    let cases: [ClassifyCase; 16] = [
        // rec_strike, days, strike, n, want, kinds
        ("100",    0, "100",      2, Consent, &[]),
        ("100",    0, "100.50",   2, Consent, &[]),
        // Exactly 1 % either way is still the same strike…
        ("100",    0, "101",      2, Consent, &[]),
        ("100",    0, "99",       2, Consent, &[]),
        ("250",    0, "252.50",   2, Consent, &[]),
        // …and anything beyond it is not, however little.
        ("100",    0, "101.01",   2, Modify,  &["strike+1.01"]),
        ("100",    0, "98.99",    2, Modify,  &["strike-1.01"]),
        ("100",    0, "101.0001", 2, Modify,  &["strike+1.0001"]),
        ("99.50",  0, "100.50",   2, Modify,  &["strike+1.00"]), // 1.005 %
        // Each kind of modification, and several at once.
        ("100",    7, "100",      2, Modify,  &["dte+7"]),
        ("100",   -7, "100",      2, Modify,  &["dte-7"]),
        ("100",    0, "105",      2, Modify,  &["strike+5.00"]),
        ("100",    0, "97.50",    2, Modify,  &["strike-2.50"]),
        ("100",    0, "100",      1, Modify,  &["contracts-1"]),
        ("100",    0, "100",      3, Modify,  &["contracts+1"]),
        ("100",    7, "95",       1, Modify,  &["dte+7", "strike-5.00", "contracts-1"]),
    ];
    for case @ (rec_strike, days, strike, n, want, kinds) in cases {
        let expiration = (d("2025-01-17") + Duration::days(days)).to_string();
        let rec = sell_rec(
            1,
            pt("2025-01-02", "09:30"),
            put("AAPL", "2025-01-17", rec_strike),
            2,
            "1.25",
        );
        let trade = fill(
            11,
            pt("2025-01-02", "10:00"),
            ExecAction::SellToOpen,
            put("AAPL", &expiration, strike),
            n,
            "1.30",
            "1.30",
        );
        let drafts = day("2025-01-02", &[rec], &[trade]);
        assert_eq!(
            rows(&drafts),
            vec![("r:1".to_owned(), want, Some(1), vec![11])],
            "{case:?}"
        );
        assert_eq!(drafts[0].modifications, kinds, "{case:?}");
    }
}

#[test]
fn a_paired_match_records_what_was_done_minus_what_was_recommended() {
    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 2, "1.25");
    let trade = fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        put("AAPL", "2025-01-24", "95"),
        1,
        "1.10",
        "0.65",
    );
    let drafts = day("2025-01-02", &[rec], &[trade]);
    let diff = &draft(&drafts, "r:1").diff;
    assert_eq!(diff.strike, Some(m("-5")));
    assert_eq!(diff.dte, Some(7));
    assert_eq!(diff.contracts, Some(-1));
    assert_eq!(diff.premium, Some(m("-0.15")));
}

#[test]
fn wider_tolerances_turn_a_modify_into_consent() {
    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 2, "1.25");
    let trade = fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        put("AAPL", "2025-01-24", "102"),
        3,
        "1.25",
        "0",
    );
    let strict = day(
        "2025-01-02",
        std::slice::from_ref(&rec),
        std::slice::from_ref(&trade),
    );
    assert_eq!(
        strict[0].modifications,
        ["dte+7", "strike+2.00", "contracts+1"]
    );
    let loose = MatchRules {
        strike_tolerance_bp: 200,
        dte_tolerance_days: 7,
        contracts_tolerance: 1,
        ..MatchRules::default()
    };
    let drafts = reconcile_day(d("2025-01-02"), &[rec], &[trade], &loose, TZ);
    assert_eq!(drafts[0].match_type, MatchType::Consent);
    assert!(drafts[0].modifications.is_empty());
}

#[test]
fn a_trade_on_another_underlying_right_or_direction_is_not_paired() {
    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 2, "1.25");
    let cases = [
        (
            "another underlying",
            ExecAction::SellToOpen,
            put("MSFT", "2025-01-17", "100"),
        ),
        (
            "a call, not a put",
            ExecAction::SellToOpen,
            option("AAPL", "2025-01-17", Right::Call, "100"),
        ),
        (
            "a close, not an open",
            ExecAction::BuyToClose,
            aapl_jan17_100p(),
        ),
        ("a long open", ExecAction::BuyToOpen, aapl_jan17_100p()),
        ("a long close", ExecAction::SellToClose, aapl_jan17_100p()),
    ];
    for (name, action, contract) in cases {
        // Friday, the last day of the window.
        let trade = fill(
            11,
            pt("2025-01-03", "10:00"),
            action,
            contract,
            2,
            "1.25",
            "0",
        );
        let drafts = day("2025-01-03", std::slice::from_ref(&rec), &[trade]);
        assert_eq!(drafts.len(), 2, "{name}: {drafts:#?}");
        assert_eq!(
            draft(&drafts, "r:1").match_type,
            MatchType::Reject,
            "{name}"
        );
        let independent: Vec<_> = drafts
            .iter()
            .filter(|x| x.match_type == MatchType::Independent)
            .collect();
        assert_eq!(independent.len(), 1, "{name}: {drafts:#?}");
        assert_eq!(independent[0].executions, vec![11], "{name}");
        assert_eq!(independent[0].recommendation, None, "{name}");
    }
}

#[test]
fn two_recommendations_and_two_trades_whose_times_cross_pair_by_least_difference_not_by_time() {
    let recs = [
        sell_rec(
            1,
            pt("2025-01-02", "09:30"),
            put("AAPL", "2025-01-17", "100"),
            1,
            "1.25",
        ),
        sell_rec(
            2,
            pt("2025-01-02", "10:00"),
            put("AAPL", "2025-01-17", "95"),
            1,
            "0.80",
        ),
    ];
    let execs = [
        fill(
            11,
            pt("2025-01-02", "09:45"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-17", "95"),
            1,
            "0.80",
            "0.65",
        ),
        fill(
            12,
            pt("2025-01-02", "10:15"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-17", "100"),
            1,
            "1.25",
            "0.65",
        ),
    ];
    let drafts = day("2025-01-02", &recs, &execs);
    assert_eq!(
        rows(&drafts),
        vec![
            ("r:1".to_owned(), MatchType::Consent, Some(1), vec![12]),
            ("r:2".to_owned(), MatchType::Consent, Some(2), vec![11]),
        ]
    );
    // Whatever order they arrive in.
    let (mut recs_rev, mut execs_rev) = (recs.to_vec(), execs.to_vec());
    recs_rev.reverse();
    execs_rev.reverse();
    assert_eq!(day("2025-01-02", &recs_rev, &execs_rev), drafts);
}

#[test]
fn with_equal_differences_the_time_between_recommendation_and_trade_breaks_the_tie() {
    // Both trades are half a percent from both recommendations; each answers the
    // recommendation closest to it in time.
    let recs = [
        sell_rec(1, pt("2025-01-02", "07:00"), aapl_jan17_100p(), 1, "1.25"),
        sell_rec(2, pt("2025-01-02", "12:00"), aapl_jan17_100p(), 1, "1.25"),
    ];
    let execs = [
        fill(
            11,
            pt("2025-01-02", "12:05"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-17", "100.50"),
            1,
            "1.25",
            "0",
        ),
        fill(
            12,
            pt("2025-01-02", "07:05"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-17", "99.50"),
            1,
            "1.25",
            "0",
        ),
    ];
    let drafts = day("2025-01-02", &recs, &execs);
    assert_eq!(
        rows(&drafts),
        vec![
            ("r:1".to_owned(), MatchType::Consent, Some(1), vec![12]),
            ("r:2".to_owned(), MatchType::Consent, Some(2), vec![11]),
        ]
    );
}

// ---------------------------------------------------------------------------------------
// Grouping fills (SPEC §4.1)
// ---------------------------------------------------------------------------------------

#[test]
fn three_partial_fills_of_one_contract_on_one_day_are_one_trade_at_the_weighted_price() {
    let c = aapl_jan17_100p();
    let fills = [
        fill(
            23,
            pt("2025-01-02", "09:31"),
            ExecAction::SellToOpen,
            c.clone(),
            1,
            "1.25",
            "0.65",
        ),
        fill(
            21,
            pt("2025-01-02", "09:30"),
            ExecAction::SellToOpen,
            c.clone(),
            1,
            "1.20",
            "0.65",
        ),
        fill(
            22,
            pt("2025-01-02", "09:30"),
            ExecAction::SellToOpen,
            c.clone(),
            2,
            "1.30",
            "1.30",
        ),
    ];
    let trades = group_fills(&fills, TZ);
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_eq!(t.contracts, 4);
    // (1.20 + 2 × 1.30 + 1.25) / 4 = 1.2625
    assert_eq!(t.price, m("1.2625"));
    assert_eq!(t.fees, m("2.60"));
    assert_eq!(t.fills, vec![21, 22, 23]);
    assert_eq!(t.first_at, pt("2025-01-02", "09:30"));
    assert_eq!(t.day, d("2025-01-02"));

    let rec = sell_rec(1, pt("2025-01-02", "09:00"), c, 4, "1.25");
    let drafts = day("2025-01-02", &[rec], &fills);
    assert_eq!(
        rows(&drafts),
        vec![(
            "r:1".to_owned(),
            MatchType::Consent,
            Some(1),
            vec![21, 22, 23]
        )]
    );
    assert_eq!(drafts[0].diff.premium, Some(m("0.0125")));
}

#[test]
fn fills_differing_in_contract_action_or_day_are_separate_trades_and_lifecycle_events_are_none() {
    let c = aapl_jan17_100p();
    let fills = [
        fill(
            1,
            pt("2025-01-02", "09:30"),
            ExecAction::SellToOpen,
            c.clone(),
            1,
            "1.25",
            "0",
        ),
        fill(
            2,
            pt("2025-01-02", "09:31"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-17", "95"),
            1,
            "1.25",
            "0",
        ),
        fill(
            3,
            pt("2025-01-02", "09:32"),
            ExecAction::BuyToClose,
            c.clone(),
            1,
            "1.25",
            "0",
        ),
        fill(
            4,
            pt("2025-01-03", "09:30"),
            ExecAction::SellToOpen,
            c.clone(),
            1,
            "1.25",
            "0",
        ),
        event(
            5,
            pt("2025-01-17", "13:00"),
            ExecAction::Expired,
            c.clone(),
            1,
        ),
        event(
            6,
            pt("2025-01-17", "13:00"),
            ExecAction::Assigned,
            c.clone(),
            1,
        ),
        event(7, pt("2025-01-17", "13:00"), ExecAction::Exercised, c, 1),
    ];
    let trades = group_fills(&fills, TZ);
    let ids: BTreeSet<Vec<i64>> = trades.iter().map(|t| t.fills.clone()).collect();
    assert_eq!(ids, BTreeSet::from([vec![1], vec![2], vec![3], vec![4]]));
}

// ---------------------------------------------------------------------------------------
// Rolls (SPEC §4.2: a roll is a close plus an open on the same underlying)
// ---------------------------------------------------------------------------------------

/// (name, executions, type, kinds, execution ids of the match)
type RollCase = (
    &'static str,
    Vec<Stored<Execution>>,
    MatchType,
    &'static [&'static str],
    Vec<i64>,
);

#[test]
fn a_roll_pairs_with_the_buy_back_of_the_old_contract_and_the_sale_of_the_new() {
    let old = put("AAPL", "2025-01-10", "100");
    let new = put("AAPL", "2025-01-17", "100");
    let rec = roll_rec(
        1,
        pt("2025-01-06", "09:30"),
        old.clone(),
        new.clone(),
        2,
        "0.50",
    );
    let close = fill(
        11,
        pt("2025-01-06", "10:00"),
        ExecAction::BuyToClose,
        old,
        2,
        "0.20",
        "1.30",
    );
    let open = fill(
        12,
        pt("2025-01-06", "10:01"),
        ExecAction::SellToOpen,
        new,
        2,
        "0.75",
        "1.30",
    );

    let cases: [RollCase; 3] = [
        (
            "both legs",
            vec![close.clone(), open.clone()],
            MatchType::Consent,
            &[],
            vec![11, 12],
        ),
        (
            "only the buy-back",
            vec![close.clone()],
            MatchType::Modify,
            &["no_open"],
            vec![11],
        ),
        (
            "only the new sale",
            vec![open.clone()],
            MatchType::Modify,
            &["no_close"],
            vec![12],
        ),
    ];
    for (name, execs, want, kinds, ids) in cases {
        let drafts = day("2025-01-06", std::slice::from_ref(&rec), &execs);
        assert_eq!(
            drafts.len(),
            1,
            "{name}: one match holds every leg: {drafts:#?}"
        );
        let x = draft(&drafts, "r:1");
        assert_eq!(x.match_type, want, "{name}");
        assert_eq!(x.modifications, kinds, "{name}");
        assert_eq!(x.executions, ids, "{name}");
    }

    let both = day("2025-01-06", &[rec], &[close, open]);
    // Net credit 0.75 − 0.20 = 0.55 against the recommended 0.50.
    assert_eq!(both[0].diff.premium, Some(m("0.05")));
}

#[test]
fn a_roll_to_a_later_expiration_than_recommended_is_a_modify_of_its_open_leg() {
    let old = put("AAPL", "2025-01-10", "100");
    let rec = roll_rec(
        1,
        pt("2025-01-06", "09:30"),
        old.clone(),
        put("AAPL", "2025-01-17", "100"),
        2,
        "0.50",
    );
    let execs = [
        fill(
            11,
            pt("2025-01-06", "10:00"),
            ExecAction::BuyToClose,
            old,
            2,
            "0.20",
            "0",
        ),
        fill(
            12,
            pt("2025-01-06", "10:01"),
            ExecAction::SellToOpen,
            put("AAPL", "2025-01-24", "100"),
            2,
            "1.10",
            "0",
        ),
    ];
    let drafts = day("2025-01-06", &[rec], &execs);
    assert_eq!(
        rows(&drafts),
        vec![("r:1".to_owned(), MatchType::Modify, Some(1), vec![11, 12])]
    );
    assert_eq!(drafts[0].modifications, ["dte+7"]);
}

// ---------------------------------------------------------------------------------------
// Positions resolved without a trade (SPEC §4.4 no_action, lifecycle events)
// ---------------------------------------------------------------------------------------

#[test]
fn a_close_recommendation_whose_position_expired_in_the_window_is_no_action_with_the_event() {
    let position = put("AAPL", "2025-01-03", "100");
    let rec = close_rec(1, pt("2025-01-02", "09:30"), position.clone(), 2, "0.05");
    let expired = event(
        31,
        pt("2025-01-03", "14:00"),
        ExecAction::Expired,
        position,
        2,
    );
    let all = range("2025-01-02", "2025-01-10", &[rec], &[expired]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-03"),
            "r:1".to_owned(),
            MatchType::NoAction,
            Some(1),
            vec![31]
        )]
    );
}

#[test]
fn two_close_recommendations_for_one_expired_position_share_the_event_once() {
    // The algorithm asked twice; the expiry resolves both, but links to the first only
    // (an execution belongs to one match).
    let position = put("AAPL", "2025-01-03", "100");
    let first = close_rec(1, pt("2025-01-02", "09:30"), position.clone(), 2, "0.05");
    let second = close_rec(2, pt("2025-01-02", "10:30"), position.clone(), 2, "0.04");
    let expired = event(
        31,
        pt("2025-01-03", "14:00"),
        ExecAction::Expired,
        position,
        2,
    );
    let all = range("2025-01-02", "2025-01-10", &[second, first], &[expired]);
    assert_eq!(
        dated_rows(&all),
        vec![
            (
                d("2025-01-03"),
                "r:1".to_owned(),
                MatchType::NoAction,
                Some(1),
                vec![31]
            ),
            (
                d("2025-01-03"),
                "r:2".to_owned(),
                MatchType::NoAction,
                Some(2),
                vec![]
            ),
        ]
    );
}

#[test]
fn a_close_recommendation_whose_position_was_assigned_early_is_no_action_with_the_event() {
    // Assigned on Friday, two weeks before expiration: the event, not the date, resolves it.
    let position = aapl_jan17_100p();
    let rec = close_rec(1, pt("2025-01-02", "09:30"), position.clone(), 2, "3.00");
    let assigned = event(
        32,
        pt("2025-01-03", "05:00"),
        ExecAction::Assigned,
        position,
        2,
    );
    let all = range("2025-01-02", "2025-01-10", &[rec], &[assigned]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-03"),
            "r:1".to_owned(),
            MatchType::NoAction,
            Some(1),
            vec![32]
        )]
    );
}

#[test]
fn a_roll_recommendation_whose_old_position_was_assigned_is_no_action() {
    let old = aapl_jan17_100p();
    let rec = roll_rec(
        1,
        pt("2025-01-02", "09:30"),
        old.clone(),
        put("AAPL", "2025-01-24", "100"),
        1,
        "0.40",
    );
    let assigned = event(33, pt("2025-01-02", "15:00"), ExecAction::Assigned, old, 1);
    let drafts = day("2025-01-02", &[rec], &[assigned]);
    assert_eq!(
        rows(&drafts),
        vec![("r:1".to_owned(), MatchType::NoAction, Some(1), vec![33])]
    );
}

#[test]
fn lifecycle_events_are_never_independent_trades() {
    let c = aapl_jan17_100p();
    for action in [
        ExecAction::Expired,
        ExecAction::Assigned,
        ExecAction::Exercised,
    ] {
        let e = event(34, pt("2025-01-17", "13:00"), action, c.clone(), 1);
        assert!(
            day("2025-01-17", &[], std::slice::from_ref(&e)).is_empty(),
            "{action}"
        );
        // Nor when a recommendation on the same underlying is open that day.
        let rec = sell_rec(
            1,
            pt("2025-01-17", "09:00"),
            put("AAPL", "2025-01-24", "100"),
            1,
            "0.50",
        );
        let drafts = day("2025-01-17", &[rec], &[e]);
        assert!(
            drafts
                .iter()
                .all(|x| x.match_type != MatchType::Independent),
            "{action}: {drafts:#?}"
        );
        assert!(
            drafts.iter().all(|x| !x.executions.contains(&34)),
            "{action}: {drafts:#?}"
        );
    }
}

#[test]
fn an_event_on_another_contract_does_not_resolve_a_close_recommendation() {
    let rec = close_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 1, "0.30");
    let other = event(
        35,
        pt("2025-01-03", "05:00"),
        ExecAction::Assigned,
        put("AAPL", "2025-01-17", "95"),
        1,
    );
    let all = range("2025-01-02", "2025-01-10", &[rec], &[other]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-03"),
            "r:1".to_owned(),
            MatchType::Reject,
            Some(1),
            vec![]
        )]
    );
}

// ---------------------------------------------------------------------------------------
// The response window and the day of an event (SPEC §2, §4.2)
// ---------------------------------------------------------------------------------------

#[test]
fn a_trade_on_the_next_weekday_answers_a_friday_recommendation() {
    let rec = sell_rec(1, pt("2025-01-03", "10:00"), aapl_jan17_100p(), 1, "1.00");
    let monday = fill(
        11,
        pt("2025-01-06", "07:00"),
        ExecAction::SellToOpen,
        aapl_jan17_100p(),
        1,
        "0.95",
        "0.65",
    );
    let all = range("2025-01-03", "2025-01-10", &[rec], &[monday]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-06"),
            "r:1".to_owned(),
            MatchType::Consent,
            Some(1),
            vec![11]
        )]
    );
}

#[test]
fn a_trade_after_the_window_leaves_the_recommendation_rejected_and_is_independent() {
    let rec = sell_rec(1, pt("2025-01-03", "10:00"), aapl_jan17_100p(), 1, "1.00");
    let tuesday = fill(
        11,
        pt("2025-01-07", "07:00"),
        ExecAction::SellToOpen,
        aapl_jan17_100p(),
        1,
        "0.95",
        "0.65",
    );
    let all = range("2025-01-03", "2025-01-10", &[rec], &[tuesday]);
    let trade_key = format!(
        "t:2025-01-07:sell_to_open:{}",
        aapl_jan17_100p().occ().replace(' ', "")
    );
    assert_eq!(
        dated_rows(&all),
        vec![
            (
                d("2025-01-06"),
                "r:1".to_owned(),
                MatchType::Reject,
                Some(1),
                vec![]
            ),
            (
                d("2025-01-07"),
                trade_key,
                MatchType::Independent,
                None,
                vec![11]
            ),
        ]
    );
}

#[test]
fn a_recommendation_still_in_its_window_produces_no_row_yet() {
    let rec = sell_rec(1, pt("2025-01-03", "10:00"), aapl_jan17_100p(), 1, "1.00");
    assert!(day("2025-01-03", std::slice::from_ref(&rec), &[]).is_empty());
    assert_eq!(
        rows(&day("2025-01-06", std::slice::from_ref(&rec), &[])),
        vec![("r:1".to_owned(), MatchType::Reject, Some(1), vec![])]
    );
    // Outside its window it is ignored, whatever it is given.
    assert!(day("2025-01-02", std::slice::from_ref(&rec), &[]).is_empty());
    assert!(day("2025-01-07", &[rec], &[]).is_empty());
}

#[test]
fn a_longer_window_keeps_a_recommendation_open_for_more_weekdays() {
    let rec = sell_rec(1, pt("2025-01-03", "10:00"), aapl_jan17_100p(), 1, "1.00");
    let tuesday = fill(
        11,
        pt("2025-01-07", "07:00"),
        ExecAction::SellToOpen,
        aapl_jan17_100p(),
        1,
        "0.95",
        "0.65",
    );
    let rules = MatchRules {
        window: rlhf_bot::domain::ResponseWindow {
            sessions_after: 2,
            ..Default::default()
        },
        ..MatchRules::default()
    };
    let all = reconcile_range(
        d("2025-01-03"),
        d("2025-01-10"),
        &[rec],
        &[tuesday],
        &rules,
        TZ,
    );
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-07"),
            "r:1".to_owned(),
            MatchType::Consent,
            Some(1),
            vec![11]
        )]
    );
}

#[test]
fn an_evening_trade_in_pacific_time_belongs_to_that_pacific_day() {
    let evening: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-01-02T19:30:00-08:00")
        .unwrap()
        .into();
    assert_eq!(
        evening.date_naive(),
        d("2025-01-03"),
        "it is already Friday in UTC"
    );

    let trade = fill(
        11,
        evening,
        ExecAction::SellToOpen,
        aapl_jan17_100p(),
        1,
        "1.00",
        "0",
    );
    assert_eq!(group_fills([&trade], TZ)[0].day, d("2025-01-02"));

    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 1, "1.00");
    let thursday = day(
        "2025-01-02",
        std::slice::from_ref(&rec),
        std::slice::from_ref(&trade),
    );
    assert_eq!(
        rows(&thursday),
        vec![("r:1".to_owned(), MatchType::Consent, Some(1), vec![11])]
    );
    let friday = day("2025-01-03", &[], &[trade]);
    assert!(friday.is_empty(), "{friday:#?}");
}

#[test]
fn an_evening_recommendation_in_pacific_time_opens_its_window_on_that_pacific_day() {
    // 19:00 PT Thursday is Friday in UTC; the window is Thursday–Friday, not Friday–Monday.
    let rec = sell_rec(1, pt("2025-01-02", "19:00"), aapl_jan17_100p(), 1, "1.00");
    let all = range("2025-01-02", "2025-01-10", &[rec], &[]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-01-03"),
            "r:1".to_owned(),
            MatchType::Reject,
            Some(1),
            vec![]
        )]
    );
}

// ---------------------------------------------------------------------------------------
// Accounts never mix (SPEC §2)
// ---------------------------------------------------------------------------------------

fn in_account<T>(
    mut s: Stored<T>,
    account: AccountId,
    set: impl Fn(&mut T, AccountId),
) -> Stored<T> {
    set(&mut s.item, account);
    s
}

#[test]
fn another_accounts_identical_trade_is_not_paired() {
    let (a, b) = (AccountId(1), AccountId(2));
    let rec_a = in_account(
        sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 1, "1.00"),
        a,
        |r, acc| r.account = acc,
    );
    let trade_b = in_account(
        fill(
            12,
            pt("2025-01-02", "10:00"),
            ExecAction::SellToOpen,
            aapl_jan17_100p(),
            1,
            "1.00",
            "0",
        ),
        b,
        |e, acc| e.account = acc,
    );
    let recs = [rec_a];
    let execs = [trade_b];

    // As the store runs it: each account with its own rows.
    let mut by_account: BTreeMap<AccountId, Vec<(NaiveDate, MatchDraft)>> = BTreeMap::new();
    for account in [a, b] {
        let r: Vec<_> = recs
            .iter()
            .filter(|x| x.account == account)
            .cloned()
            .collect();
        let e: Vec<_> = execs
            .iter()
            .filter(|x| x.account == account)
            .cloned()
            .collect();
        by_account.insert(account, range("2025-01-02", "2025-01-10", &r, &e));
    }
    assert_eq!(
        dated_rows(&by_account[&a]),
        vec![(
            d("2025-01-03"),
            "r:1".to_owned(),
            MatchType::Reject,
            Some(1),
            vec![]
        )]
    );
    let key = format!(
        "t:2025-01-02:sell_to_open:{}",
        aapl_jan17_100p().occ().replace(' ', "")
    );
    assert_eq!(
        dated_rows(&by_account[&b]),
        vec![(d("2025-01-02"), key, MatchType::Independent, None, vec![12])]
    );
}

#[test]
fn reconciling_one_accounts_rows_only_references_that_accounts_ids() {
    let (a, b) = (AccountId(1), AccountId(2));
    let set_rec = |r: &mut Recommendation, acc| r.account = acc;
    let set_exec = |e: &mut Execution, acc| e.account = acc;
    let recs = [
        in_account(
            sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 1, "1.00"),
            a,
            set_rec,
        ),
        in_account(
            sell_rec(2, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 1, "1.00"),
            b,
            set_rec,
        ),
        in_account(
            close_rec(
                3,
                pt("2025-01-02", "09:30"),
                put("AAPL", "2025-01-03", "90"),
                1,
                "0.05",
            ),
            b,
            set_rec,
        ),
    ];
    let execs = [
        in_account(
            fill(
                11,
                pt("2025-01-02", "10:00"),
                ExecAction::SellToOpen,
                aapl_jan17_100p(),
                1,
                "1.00",
                "0",
            ),
            a,
            set_exec,
        ),
        in_account(
            fill(
                12,
                pt("2025-01-02", "10:00"),
                ExecAction::SellToOpen,
                aapl_jan17_100p(),
                1,
                "1.00",
                "0",
            ),
            b,
            set_exec,
        ),
        in_account(
            fill(
                13,
                pt("2025-01-02", "11:00"),
                ExecAction::SellToOpen,
                put("MSFT", "2025-01-17", "400"),
                1,
                "4.00",
                "0",
            ),
            b,
            set_exec,
        ),
        in_account(
            event(
                14,
                pt("2025-01-03", "13:00"),
                ExecAction::Expired,
                put("AAPL", "2025-01-03", "90"),
                1,
            ),
            b,
            set_exec,
        ),
    ];
    for (account, rec_ids, exec_ids) in [(a, vec![1], vec![11]), (b, vec![2, 3], vec![12, 13, 14])]
    {
        let r: Vec<_> = recs
            .iter()
            .filter(|x| x.account == account)
            .cloned()
            .collect();
        let e: Vec<_> = execs
            .iter()
            .filter(|x| x.account == account)
            .cloned()
            .collect();
        let all = range("2025-01-02", "2025-01-10", &r, &e);
        assert!(!all.is_empty());
        for (_, x) in &all {
            assert!(
                x.recommendation.is_none_or(|id| rec_ids.contains(&id)),
                "{account}: {x:#?}"
            );
            assert!(
                x.executions.iter().all(|id| exec_ids.contains(id)),
                "{account}: {x:#?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Whole-history invariants (properties)
// ---------------------------------------------------------------------------------------

const SYMBOLS: [&str; 3] = ["AAPL", "MSFT", "SPY"];
const STRIKES: [&str; 5] = ["95", "97.5", "100", "101", "105"];
const EXPIRIES: [&str; 4] = ["2025-01-03", "2025-01-10", "2025-01-17", "2025-01-24"];
/// Thursday; generated events fall on this day and the next six (a weekend included).
const FIRST_DAY: &str = "2025-01-02";
const GENERATED_DAYS: i64 = 7;

fn at_minute(day_offset: i64, minute: u32) -> DateTime<Utc> {
    let day = d(FIRST_DAY) + Duration::days(day_offset);
    let naive = day
        .and_hms_opt(minute / 60, minute % 60, 0)
        .expect("a minute of the day");
    TZ.from_local_datetime(&naive)
        .earliest()
        .expect("a local time")
        .with_timezone(&Utc)
}

fn generated_contract(symbol: usize, right: Right, strike: usize, expiry: usize) -> Contract {
    option(SYMBOLS[symbol], EXPIRIES[expiry], right, STRIKES[strike])
}

fn right_strategy() -> impl Strategy<Value = Right> {
    prop_oneof![Just(Right::Put), Just(Right::Call)]
}

/// A recommendation with id 0; ids are given once the whole list exists.
fn rec_strategy(symbols: usize) -> impl Strategy<Value = Stored<Recommendation>> {
    (
        (0..symbols, 0..GENERATED_DAYS, 0u32..24 * 60),
        prop_oneof![3 => Just(RecAction::SellToOpen), 1 => Just(RecAction::BuyToClose), 1 => Just(RecAction::Roll)],
        right_strategy(),
        (0..STRIKES.len(), 0..EXPIRIES.len(), 0..STRIKES.len(), 0..EXPIRIES.len()),
        1i64..=3,
        0i64..300,
    )
        .prop_map(|((sym, day, minute), action, right, (strike, expiry, old_strike, old_expiry), n, cents)| {
            let contract = generated_contract(sym, right, strike, expiry);
            let old = generated_contract(sym, right, old_strike, old_expiry);
            let (contract, position) = match action {
                RecAction::SellToOpen => (contract, None),
                RecAction::BuyToClose => (old.clone(), Some(old)),
                RecAction::Roll => (contract, Some(old)),
            };
            let mut r = recommendation(0, at_minute(day, minute), action, contract, position, n, "0");
            r.item.premium = Money::from_cents(cents);
            r
        })
}

/// An execution with id 0; ids are given once the whole list exists.
fn exec_strategy(symbols: usize) -> impl Strategy<Value = Stored<Execution>> {
    (
        (0..symbols, 0..GENERATED_DAYS, 0u32..24 * 60),
        prop_oneof![
            4 => Just(ExecAction::SellToOpen),
            3 => Just(ExecAction::BuyToClose),
            1 => Just(ExecAction::BuyToOpen),
            1 => Just(ExecAction::SellToClose),
            1 => Just(ExecAction::Expired),
            1 => Just(ExecAction::Assigned),
            1 => Just(ExecAction::Exercised),
        ],
        right_strategy(),
        (0..STRIKES.len(), 0..EXPIRIES.len()),
        1i64..=3,
        (0i64..300, 0i64..200),
    )
        .prop_map(
            |((sym, day, minute), action, right, (strike, expiry), n, (cents, fee_cents))| {
                let contract = generated_contract(sym, right, strike, expiry);
                let mut e = fill(0, at_minute(day, minute), action, contract, n, "0", "0");
                if !action.is_lifecycle() {
                    e.item.price = Money::from_cents(cents);
                    e.item.fees = Money::from_cents(fee_cents);
                }
                e
            },
        )
}

/// Gives recommendations ids from 1 and executions ids from 101, in list order, with
/// external ids and broker references that follow the ids.
fn numbered(
    mut recs: Vec<Stored<Recommendation>>,
    mut execs: Vec<Stored<Execution>>,
) -> (Vec<Stored<Recommendation>>, Vec<Stored<Execution>>) {
    for (i, r) in recs.iter_mut().enumerate() {
        r.id = i as i64 + 1;
        r.item.external_id = format!("rec-{}", r.id);
    }
    for (i, e) in execs.iter_mut().enumerate() {
        e.id = i as i64 + 101;
        e.item.broker_ref = format!("ref-{}", e.id);
    }
    (recs, execs)
}

fn history() -> impl Strategy<Value = (Vec<Stored<Recommendation>>, Vec<Stored<Execution>>)> {
    (1usize..=3)
        .prop_flat_map(|symbols| {
            (
                prop::collection::vec(rec_strategy(symbols), 0..8),
                prop::collection::vec(exec_strategy(symbols), 0..12),
            )
        })
        .prop_map(|(recs, execs)| numbered(recs, execs))
}

/// Far enough past the last generated day that every window has closed.
fn whole_history(
    recs: &[Stored<Recommendation>],
    execs: &[Stored<Execution>],
) -> Vec<(NaiveDate, MatchDraft)> {
    let from = d(FIRST_DAY);
    let to = from + Duration::days(GENERATED_DAYS + 10);
    reconcile_range(from, to, recs, execs, &MatchRules::default(), TZ)
}

/// A match described by external ids and broker references only, so that histories
/// with different database ids can be compared.
type Portable = (
    NaiveDate,
    String,
    MatchType,
    Option<String>,
    Vec<String>,
    Vec<String>,
    String,
);

fn portable(
    drafts: &[(NaiveDate, MatchDraft)],
    recs: &[Stored<Recommendation>],
    execs: &[Stored<Execution>],
) -> Vec<Portable> {
    let rec_ext: BTreeMap<i64, &str> = recs
        .iter()
        .map(|r| (r.id, r.external_id.as_str()))
        .collect();
    let exec_ref: BTreeMap<i64, &str> = execs
        .iter()
        .map(|e| (e.id, e.broker_ref.as_str()))
        .collect();
    let mut out: Vec<Portable> = drafts
        .iter()
        .map(|(on, x)| {
            let rec = x.recommendation.map(|id| rec_ext[&id].to_owned());
            let key = match &rec {
                Some(ext) if x.key.starts_with("r:") => format!("r:{ext}"),
                _ => x.key.clone(),
            };
            let mut refs: Vec<String> = x
                .executions
                .iter()
                .map(|id| exec_ref[id].to_owned())
                .collect();
            refs.sort();
            (
                *on,
                key,
                x.match_type,
                rec,
                refs,
                x.modifications.clone(),
                format!("{:?}", x.diff),
            )
        })
        .collect();
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_recommendation_lands_in_exactly_one_match_once_its_window_has_closed(
        (recs, execs) in history()
    ) {
        let all = whole_history(&recs, &execs);
        let rules = MatchRules::default();
        for r in &recs {
            let found: Vec<_> = all.iter().filter(|(_, x)| x.recommendation == Some(r.id)).collect();
            prop_assert_eq!(found.len(), 1, "{} in {:#?}", r.external_id, found);
            let (on, x) = found[0];
            let sent = rlhf_bot::domain::day_of(r.created_at, TZ);
            prop_assert!(rules.window.contains(sent, *on), "{} matched on {} outside its window", r.external_id, on);
            prop_assert_eq!(x.key.clone(), format!("r:{}", r.id));
            prop_assert_eq!(&x.underlying, &r.contract.underlying);
            prop_assert_ne!(x.match_type, MatchType::Independent);
            prop_assert_eq!(x.match_type == MatchType::Modify, !x.modifications.is_empty(), "{:#?}", x);
            if x.match_type == MatchType::NoAction {
                prop_assert!(r.action != RecAction::SellToOpen, "an open recommendation has no position to resolve");
            }
            if x.match_type == MatchType::Reject {
                prop_assert!(x.executions.is_empty());
                prop_assert_eq!(*on, rules.window.last_day(sent), "rejected only when the window closes");
            }
        }
    }

    #[test]
    fn every_trade_lands_in_exactly_one_match_and_lifecycle_events_are_never_independent(
        (recs, execs) in history()
    ) {
        let all = whole_history(&recs, &execs);
        for e in &execs {
            let holding: Vec<_> = all.iter().filter(|(_, x)| x.executions.contains(&e.id)).collect();
            if e.action.is_lifecycle() {
                for (_, x) in &holding {
                    prop_assert_eq!(x.match_type, MatchType::NoAction, "{} ({}) in {:#?}", e.broker_ref, e.action, x);
                }
            } else {
                prop_assert_eq!(holding.len(), 1, "{} ({}) in {:#?}", &e.broker_ref, e.action, holding);
                let (on, x) = holding[0];
                prop_assert_eq!(*on, rlhf_bot::domain::day_of(e.executed_at, TZ), "matched on the day it happened");
                prop_assert!(
                    matches!(x.match_type, MatchType::Consent | MatchType::Modify | MatchType::Independent),
                    "a trade is paired or independent: {:#?}", x
                );
            }
        }
    }

    #[test]
    fn the_result_does_not_depend_on_input_order_or_database_ids(
        ((recs, execs), (recs_shuffled, execs_shuffled)) in history().prop_flat_map(|(recs, execs)| {
            let shuffled = (Just(recs.clone()).prop_shuffle(), Just(execs.clone()).prop_shuffle());
            (Just((recs, execs)), shuffled)
        })
    ) {
        let expected = portable(&whole_history(&recs, &execs), &recs, &execs);

        // The same rows in another order.
        let reordered = portable(&whole_history(&recs_shuffled, &execs_shuffled), &recs_shuffled, &execs_shuffled);
        prop_assert_eq!(&reordered, &expected);

        // And with ids handed out in that other order (as a second import would).
        let (mut renumbered_recs, mut renumbered_execs) = (recs_shuffled, execs_shuffled);
        for (i, r) in renumbered_recs.iter_mut().enumerate() {
            r.id = 1_000 + i as i64;
        }
        for (i, e) in renumbered_execs.iter_mut().enumerate() {
            e.id = 5_000 + i as i64;
        }
        let renumbered = portable(
            &whole_history(&renumbered_recs, &renumbered_execs),
            &renumbered_recs,
            &renumbered_execs,
        );
        prop_assert_eq!(&renumbered, &expected);
    }

    #[test]
    fn reconciling_a_day_twice_gives_the_same_rows((recs, execs) in history()) {
        for offset in 0..GENERATED_DAYS + 3 {
            let on = d(FIRST_DAY) + Duration::days(offset);
            let first = reconcile_day(on, &recs, &execs, &MatchRules::default(), TZ);
            let second = reconcile_day(on, &recs, &execs, &MatchRules::default(), TZ);
            prop_assert_eq!(&first, &second);
            let keys: BTreeSet<&str> = first.iter().map(|x| x.key.as_str()).collect();
            prop_assert_eq!(keys.len(), first.len(), "keys are unique within a day: {:#?}", first);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Outcomes (SPEC §3, §5)
// ---------------------------------------------------------------------------------------

fn closes(entries: &[(&str, &str, &str)]) -> Closes {
    entries
        .iter()
        .map(|(symbol, date, close)| ((Symbol::parse(symbol).unwrap(), d(date)), m(close)))
        .collect()
}

fn view(
    match_type: MatchType,
    rec: Option<&Stored<Recommendation>>,
    trades: &[&Stored<Execution>],
    on: &str,
) -> MatchView {
    MatchView {
        match_type,
        day: d(on),
        recommendation: rec.cloned(),
        trades: group_fills(trades.iter().copied(), TZ),
    }
}

/// The actual outcome of the match, failing the test if there is none.
fn actual(m: &MatchView, execs: &[Stored<Execution>], closes: &Closes, as_of: &str) -> Outcome {
    let book = Book::build(execs, closes, d(as_of), TZ);
    outcomes_for(m, &book, execs, closes, d(as_of), TZ)
        .into_iter()
        .find(|o| o.side == Side::Actual)
        .expect("an actual outcome")
}

/// Two AAPL Jan 17 100 puts sold on Thursday at 1.25 with 1.30 fees: $250 premium.
fn short_put() -> Stored<Execution> {
    fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        aapl_jan17_100p(),
        2,
        "1.25",
        "1.30",
    )
}

#[test]
fn a_short_put_held_to_expiry_settles_from_the_expiration_close() {
    // (close on expiration day, status, cost to close, realized P&L)
    let cases = [
        ("105", OutcomeStatus::Expired, "0", "248.70"),
        ("100", OutcomeStatus::Expired, "0", "248.70"),
        ("97", OutcomeStatus::Assigned, "600", "-351.30"),
        ("99.50", OutcomeStatus::Assigned, "100", "148.70"),
    ];
    let execs = [short_put()];
    let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");
    for (close, status, cost, pnl) in cases {
        let o = actual(
            &mv,
            &execs,
            &closes(&[("AAPL", "2025-01-17", close)]),
            "2025-01-21",
        );
        assert_eq!(o.status, status, "close {close}");
        assert_eq!(o.basis, Basis::Position, "close {close}");
        assert_eq!(o.premium, m("250"), "close {close}");
        assert_eq!(o.close_cost, Some(m(cost)), "close {close}");
        assert_eq!(o.fees, m("1.30"), "close {close}");
        assert_eq!(o.realized_pnl, Some(m(pnl)), "close {close}");
        // (premium − cost) × 100 × contracts − fees, spelled out.
        assert_eq!(
            o.realized_pnl,
            Some(m("1.25").times(200) - m(cost) - m("1.30")),
            "close {close}"
        );
        assert_eq!(o.opened_day, d("2025-01-02"));
        assert_eq!(o.closed_day, Some(d("2025-01-17")));
        assert_eq!(o.days_held, Some(15));
        assert_eq!(o.contracts, 2);
    }
    let otm = actual(
        &mv,
        &execs,
        &closes(&[("AAPL", "2025-01-17", "105")]),
        "2025-01-21",
    );
    // 248.70 on 100 × 100 × 2 of capital.
    assert_eq!(otm.return_on_capital_bp, Some(124));
}

#[test]
fn a_short_put_without_its_expiration_close_awaits_the_price_and_then_completes() {
    let execs = [short_put()];
    let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");

    let before = actual(&mv, &execs, &Closes::new(), "2025-01-10");
    assert_eq!(before.status, OutcomeStatus::Open);
    assert_eq!(before.realized_pnl, None);

    // Past expiration, only other days' closes known: never guessed from them.
    let known = closes(&[
        ("AAPL", "2025-01-16", "90"),
        ("AAPL", "2025-01-21", "90"),
        ("MSFT", "2025-01-17", "90"),
    ]);
    let waiting = actual(&mv, &execs, &known, "2025-01-21");
    assert_eq!(waiting.status, OutcomeStatus::AwaitingPrice);
    assert_eq!(waiting.close_cost, None);
    assert_eq!(waiting.realized_pnl, None);
    assert_eq!(waiting.closed_day, None);

    let mut arrived = known;
    arrived.insert((Symbol::parse("AAPL").unwrap(), d("2025-01-17")), m("105"));
    let done = actual(&mv, &execs, &arrived, "2025-01-21");
    assert_eq!(done.status, OutcomeStatus::Expired);
    assert_eq!(done.realized_pnl, Some(m("248.70")));
}

#[test]
fn the_brokers_closing_trade_or_lifecycle_event_takes_precedence_over_the_price() {
    let position = aapl_jan17_100p();
    // The close says deep in the money (an assignment costing $1,000); the broker says otherwise.
    let itm = closes(&[("AAPL", "2025-01-17", "95")]);
    let cases = [
        (
            "a later buy-back",
            fill(
                12,
                pt("2025-01-08", "10:00"),
                ExecAction::BuyToClose,
                position.clone(),
                2,
                "0.30",
                "1.30",
            ),
            OutcomeStatus::Closed,
            d("2025-01-08"),
            "60",
            "2.60",
        ),
        (
            "an expiry reported by the broker",
            event(
                12,
                pt("2025-01-17", "14:00"),
                ExecAction::Expired,
                position.clone(),
                2,
            ),
            OutcomeStatus::Expired,
            d("2025-01-17"),
            "0",
            "1.30",
        ),
    ];
    for (name, close, status, closed_day, cost, fees) in cases {
        let execs = [short_put(), close];
        let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");
        let o = actual(&mv, &execs, &itm, "2025-01-21");
        assert_eq!(o.status, status, "{name}");
        assert_eq!(o.closed_day, Some(closed_day), "{name}");
        assert_eq!(o.close_cost, Some(m(cost)), "{name}");
        assert_eq!(o.fees, m(fees), "{name}");
        assert_eq!(o.realized_pnl, Some(m("250") - m(cost) - m(fees)), "{name}");
    }
}

#[test]
fn an_assignment_reported_by_the_broker_costs_the_intrinsic_value_on_its_day() {
    let position = aapl_jan17_100p();
    let execs = [
        short_put(),
        event(
            12,
            pt("2025-01-10", "05:00"),
            ExecAction::Assigned,
            position,
            2,
        ),
    ];
    let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");

    let waiting = actual(
        &mv,
        &execs,
        &closes(&[("AAPL", "2025-01-17", "105")]),
        "2025-01-21",
    );
    assert_eq!(
        waiting.status,
        OutcomeStatus::AwaitingPrice,
        "valued at the assignment day's close, not expiry's"
    );

    let o = actual(
        &mv,
        &execs,
        &closes(&[("AAPL", "2025-01-10", "98")]),
        "2025-01-21",
    );
    assert_eq!(o.status, OutcomeStatus::Assigned);
    assert_eq!(o.closed_day, Some(d("2025-01-10")));
    assert_eq!(o.close_cost, Some(m("400")));
    assert_eq!(o.realized_pnl, Some(m("250") - m("400") - m("1.30")));
}

#[test]
fn a_buy_back_on_a_day_with_a_new_sale_on_the_same_underlying_rolls_the_old_lot() {
    let old = put("AAPL", "2025-01-10", "100");
    let new = put("AAPL", "2025-01-17", "100");
    let opened = fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        old.clone(),
        2,
        "1.25",
        "1.30",
    );
    let bought_back = fill(
        12,
        pt("2025-01-08", "10:00"),
        ExecAction::BuyToClose,
        old,
        2,
        "0.10",
        "1.30",
    );
    let cases = [
        (
            "a new AAPL sale that day",
            pt("2025-01-08", "10:01"),
            new.clone(),
            OutcomeStatus::Rolled,
        ),
        (
            "a new AAPL sale the next day",
            pt("2025-01-09", "10:01"),
            new,
            OutcomeStatus::Closed,
        ),
        (
            "a new MSFT sale that day",
            pt("2025-01-08", "10:01"),
            put("MSFT", "2025-01-17", "400"),
            OutcomeStatus::Closed,
        ),
    ];
    for (name, at, contract, status) in cases {
        let sold = fill(13, at, ExecAction::SellToOpen, contract, 2, "0.90", "1.30");
        let execs = [opened.clone(), bought_back.clone(), sold];
        let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");
        let o = actual(&mv, &execs, &Closes::new(), "2025-01-21");
        assert_eq!(o.status, status, "{name}");
        assert_eq!(o.closed_day, Some(d("2025-01-08")), "{name}");
        assert_eq!(o.close_cost, Some(m("20")), "{name}");
        assert_eq!(o.realized_pnl, Some(m("227.40")), "{name}");
    }
}

#[test]
fn the_counterfactual_of_a_rejected_recommendation_is_held_to_expiry_at_the_expiration_close() {
    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 2, "1.25");
    let cases = [
        ("105", OutcomeStatus::Expired, Some("0"), Some("250")),
        ("98", OutcomeStatus::Assigned, Some("400"), Some("-150")),
    ];
    for (close, status, cost, pnl) in cases {
        let px = closes(&[("AAPL", "2025-01-17", close)]);
        let o = counterfactual(&rec, &px, d("2025-01-21"), TZ);
        assert_eq!(o.side, Side::Algorithm, "close {close}");
        assert_eq!(o.basis, Basis::Position, "close {close}");
        assert_eq!(o.status, status, "close {close}");
        assert_eq!(o.premium, m("250"), "close {close}");
        assert_eq!(o.fees, Money::ZERO, "close {close}");
        assert_eq!(o.close_cost, cost.map(m), "close {close}");
        assert_eq!(o.realized_pnl, pnl.map(m), "close {close}");
        assert_eq!(o.opened_day, d("2025-01-02"));
        assert_eq!(o.closed_day, Some(d("2025-01-17")));

        // A rejected opening has no actual side: the trader holds nothing because of it.
        let rejected = view(MatchType::Reject, Some(&rec), &[], "2025-01-03");
        let book = Book::build(&[], &px, d("2025-01-21"), TZ);
        assert_eq!(
            outcomes_for(&rejected, &book, &[], &px, d("2025-01-21"), TZ),
            vec![o]
        );
    }

    let open = counterfactual(&rec, &Closes::new(), d("2025-01-10"), TZ);
    assert_eq!(
        (open.status, open.realized_pnl),
        (OutcomeStatus::Open, None)
    );
    let waiting = counterfactual(&rec, &Closes::new(), d("2025-01-21"), TZ);
    assert_eq!(
        (waiting.status, waiting.realized_pnl),
        (OutcomeStatus::AwaitingPrice, None)
    );
}

#[test]
fn a_consent_has_the_same_outcome_on_both_sides_but_for_the_side() {
    let rec = sell_rec(1, pt("2025-01-02", "09:30"), aapl_jan17_100p(), 2, "1.20");
    let execs = [short_put()];
    let drafts = day("2025-01-02", std::slice::from_ref(&rec), &execs);
    assert_eq!(drafts[0].match_type, MatchType::Consent);

    for (close, as_of) in [
        ("105", "2025-01-21"),
        ("97", "2025-01-21"),
        ("105", "2025-01-10"),
    ] {
        let px = closes(&[("AAPL", "2025-01-17", close)]);
        let mv = view(MatchType::Consent, Some(&rec), &[&execs[0]], "2025-01-02");
        let book = Book::build(&execs, &px, d(as_of), TZ);
        let both = outcomes_for(&mv, &book, &execs, &px, d(as_of), TZ);
        assert_eq!(both.len(), 2, "{both:#?}");
        let (a, algo) = (&both[0], &both[1]);
        assert_eq!(a.side, Side::Actual);
        assert_eq!(algo.side, Side::Algorithm);
        assert_eq!(
            *algo,
            Outcome {
                side: Side::Algorithm,
                ..a.clone()
            },
            "close {close} as of {as_of}"
        );
    }
}

#[test]
fn a_modified_trade_keeps_its_own_outcome_and_the_algorithm_its_counterfactual() {
    let rec = sell_rec(
        1,
        pt("2025-01-02", "09:30"),
        put("AAPL", "2025-01-17", "105"),
        2,
        "2.00",
    );
    let execs = [short_put()];
    let drafts = day("2025-01-02", std::slice::from_ref(&rec), &execs);
    assert_eq!(drafts[0].modifications, ["strike-5.00"]);

    let px = closes(&[("AAPL", "2025-01-17", "102")]);
    let mv = view(MatchType::Modify, Some(&rec), &[&execs[0]], "2025-01-02");
    let book = Book::build(&execs, &px, d("2025-01-21"), TZ);
    let both = outcomes_for(&mv, &book, &execs, &px, d("2025-01-21"), TZ);
    assert_eq!(both.len(), 2);
    assert_eq!(
        (both[0].side, both[0].status, both[0].realized_pnl),
        (Side::Actual, OutcomeStatus::Expired, Some(m("248.70")))
    );
    // 105 put at 102: 3 × 200 = 600 to settle against 400 premium.
    assert_eq!(
        (both[1].side, both[1].status, both[1].realized_pnl),
        (Side::Algorithm, OutcomeStatus::Assigned, Some(m("-200")))
    );
    assert_eq!(both[1], counterfactual(&rec, &px, d("2025-01-21"), TZ));
}

#[test]
fn closing_trades_are_applied_to_lots_first_in_first_out() {
    let c = aapl_jan17_100p();
    let first = fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        c.clone(),
        2,
        "1.00",
        "1.30",
    );
    let second = fill(
        12,
        pt("2025-01-03", "10:00"),
        ExecAction::SellToOpen,
        c.clone(),
        2,
        "1.50",
        "1.30",
    );
    // Three of the four bought back: all of the first lot, one of the second.
    let buy_back = fill(
        13,
        pt("2025-01-08", "10:00"),
        ExecAction::BuyToClose,
        c,
        3,
        "0.40",
        "3.00",
    );
    // Any input order.
    let execs = [buy_back, second, first];
    let first_lot = view(MatchType::Independent, None, &[&execs[2]], "2025-01-02");
    let second_lot = view(MatchType::Independent, None, &[&execs[1]], "2025-01-03");

    let px = Closes::new();
    let a = actual(&first_lot, &execs, &px, "2025-01-10");
    assert_eq!(a.status, OutcomeStatus::Closed);
    assert_eq!(a.closed_day, Some(d("2025-01-08")));
    assert_eq!(a.close_cost, Some(m("80")));
    // Its own 1.30 and two thirds of the buy-back's 3.00.
    assert_eq!(a.fees, m("3.30"));
    assert_eq!(a.realized_pnl, Some(m("200") - m("80") - m("3.30")));

    let b = actual(&second_lot, &execs, &px, "2025-01-10");
    assert_eq!(b.status, OutcomeStatus::Open, "one contract is still open");
    assert_eq!(b.realized_pnl, None);

    let px = closes(&[("AAPL", "2025-01-17", "105")]);
    let b = actual(&second_lot, &execs, &px, "2025-01-21");
    assert_eq!(b.status, OutcomeStatus::Expired);
    assert_eq!(b.closed_day, Some(d("2025-01-17")));
    assert_eq!(
        b.close_cost,
        Some(m("40")),
        "one bought back at 0.40, one expired worthless"
    );
    assert_eq!(b.fees, m("2.30"));
    assert_eq!(b.realized_pnl, Some(m("300") - m("40") - m("2.30")));
    // The first lot is not touched by the expiry.
    assert_eq!(actual(&first_lot, &execs, &px, "2025-01-21"), a);
}

#[test]
fn a_close_recommendation_not_followed_is_measured_by_what_holding_cost() {
    let position = aapl_jan17_100p();
    let rec = close_rec(1, pt("2025-01-06", "09:30"), position, 2, "0.50");
    let px = closes(&[("AAPL", "2025-01-17", "105")]);
    let mv = view(MatchType::Reject, Some(&rec), &[], "2025-01-07");
    let book = Book::build(&[], &px, d("2025-01-21"), TZ);
    let both = outcomes_for(&mv, &book, &[], &px, d("2025-01-21"), TZ);
    assert_eq!(both.len(), 2, "{both:#?}");
    let (held, algo) = (&both[0], &both[1]);
    assert_eq!(
        (held.side, held.basis, held.status),
        (Side::Actual, Basis::Decision, OutcomeStatus::Expired)
    );
    assert_eq!(
        held.realized_pnl,
        Some(Money::ZERO),
        "it expired worthless: holding cost nothing"
    );
    assert_eq!(
        (algo.side, algo.basis, algo.status),
        (Side::Algorithm, Basis::Decision, OutcomeStatus::Closed)
    );
    assert_eq!(
        algo.realized_pnl,
        Some(m("-100")),
        "closing would have cost 0.50 × 200"
    );
}

#[test]
fn a_buy_back_never_closes_a_lot_opened_after_it() {
    // Three bought back on Monday, but only one was known to be open (the other two were
    // opened before the imported history). The same contract sold again on Wednesday is
    // a new position, still open on Friday.
    let c = aapl_jan17_100p();
    let execs = [
        fill(
            11,
            pt("2025-01-02", "10:00"),
            ExecAction::SellToOpen,
            c.clone(),
            1,
            "1.00",
            "0.65",
        ),
        fill(
            12,
            pt("2025-01-06", "10:00"),
            ExecAction::BuyToClose,
            c.clone(),
            3,
            "0.40",
            "1.95",
        ),
        fill(
            13,
            pt("2025-01-08", "10:00"),
            ExecAction::SellToOpen,
            c,
            2,
            "1.20",
            "1.30",
        ),
    ];
    let earlier = view(MatchType::Independent, None, &[&execs[0]], "2025-01-02");
    let later = view(MatchType::Independent, None, &[&execs[2]], "2025-01-08");

    let closed = actual(&earlier, &execs, &Closes::new(), "2025-01-10");
    assert_eq!(
        (closed.status, closed.closed_day),
        (OutcomeStatus::Closed, Some(d("2025-01-06")))
    );
    assert_eq!(closed.close_cost, Some(m("40")));

    let open = actual(&later, &execs, &Closes::new(), "2025-01-10");
    assert_eq!(open.status, OutcomeStatus::Open, "{open:#?}");
    assert_eq!(open.closed_day, None);
    assert_eq!(open.fees, m("1.30"), "none of Monday's fees");

    let done = actual(
        &later,
        &execs,
        &closes(&[("AAPL", "2025-01-17", "105")]),
        "2025-01-21",
    );
    assert_eq!(done.status, OutcomeStatus::Expired);
    assert_eq!(done.realized_pnl, Some(m("240") - m("1.30")));
}

/// Closes for every generated symbol on every day from the first generated day on,
/// some of them missing.
fn closes_strategy() -> impl Strategy<Value = Closes> {
    prop::collection::vec(
        prop::option::weighted(0.8, 9_000i64..11_000),
        SYMBOLS.len() * 30,
    )
    .prop_map(|cells| {
        let mut out = Closes::new();
        for (i, cell) in cells.into_iter().enumerate() {
            if let Some(cents) = cell {
                let on = d(FIRST_DAY) + Duration::days((i % 30) as i64);
                out.insert(
                    (Symbol::parse(SYMBOLS[i / 30]).unwrap(), on),
                    Money::from_cents(cents),
                );
            }
        }
        out
    })
}

/// Every opening trade of the history with its actual outcome as of `as_of`.
fn lot_outcomes(
    execs: &[Stored<Execution>],
    closes: &Closes,
    as_of: NaiveDate,
) -> BTreeMap<String, Outcome> {
    let book = Book::build(execs, closes, as_of, TZ);
    group_fills(execs, TZ)
        .into_iter()
        .filter(|t| t.action.is_open())
        .map(|t| {
            let key = t.key();
            let mv = MatchView {
                match_type: MatchType::Independent,
                day: t.day,
                recommendation: None,
                trades: vec![t],
            };
            let outcome = outcomes_for(&mv, &book, execs, closes, as_of, TZ);
            assert_eq!(
                outcome.len(),
                1,
                "an independent trade has only an actual side"
            );
            (key, outcome.into_iter().next().unwrap())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_position_outcome_is_consistent_and_independent_of_input_order(
        ((execs, shuffled), closes, as_of_offset) in (
            history().prop_flat_map(|(_, execs)| (Just(execs.clone()), Just(execs).prop_shuffle())),
            closes_strategy(),
            0i64..30,
        )
    ) {
        // Nothing trades after its expiration.
        let alive = |e: &Stored<Execution>| rlhf_bot::domain::day_of(e.executed_at, TZ) <= e.contract.expiration;
        let execs: Vec<_> = execs.into_iter().filter(alive).collect();
        let shuffled: Vec<_> = shuffled.into_iter().filter(alive).collect();
        let as_of = d(FIRST_DAY) + Duration::days(as_of_offset);
        let outcomes = lot_outcomes(&execs, &closes, as_of);
        for (key, o) in &outcomes {
            prop_assert_eq!(o.side, Side::Actual);
            prop_assert_eq!(o.closed_day.is_some(), o.status.is_final(), "{}: {:#?}", key, o);
            if let Some(closed) = o.closed_day {
                prop_assert!(closed >= o.opened_day, "{} closed before it opened: {:#?}", key, o);
            }
            if o.status.is_final() {
                let cost = o.close_cost.expect("a final outcome has its cost");
                prop_assert_eq!(o.realized_pnl, Some(o.premium - cost - o.fees), "{}: {:#?}", key, o);
                prop_assert_eq!(o.days_held, o.closed_day.map(|c| (c - o.opened_day).num_days()));
            } else {
                prop_assert_eq!(o.realized_pnl, None, "{}: {:#?}", key, o);
            }
            if o.status == OutcomeStatus::AwaitingPrice {
                prop_assert_eq!(o.close_cost, None);
            }
        }
        prop_assert_eq!(lot_outcomes(&shuffled, &closes, as_of), outcomes);
    }
}

#[test]
fn a_roll_counts_the_buy_back_once_and_measures_both_sides_on_the_new_position() {
    // Sold 1 AAPL Jan 10 100 put at 2.00; rolled on Jan 8 as recommended in strike but a
    // week later: bought back at 0.50, sold the Jan 24 95 put at 1.60. The algorithm
    // asked for the Jan 17 95 put for a net credit of 1.00.
    let old = put("AAPL", "2025-01-10", "100");
    let opened = fill(
        11,
        pt("2025-01-02", "10:00"),
        ExecAction::SellToOpen,
        old.clone(),
        1,
        "2.00",
        "0.65",
    );
    let back = fill(
        12,
        pt("2025-01-08", "10:00"),
        ExecAction::BuyToClose,
        old.clone(),
        1,
        "0.50",
        "0.65",
    );
    let new = fill(
        13,
        pt("2025-01-08", "10:01"),
        ExecAction::SellToOpen,
        put("AAPL", "2025-01-24", "95"),
        1,
        "1.60",
        "0.65",
    );
    let rec = roll_rec(
        1,
        pt("2025-01-08", "09:30"),
        old,
        put("AAPL", "2025-01-17", "95"),
        1,
        "1.00",
    );
    let execs = vec![opened.clone(), back.clone(), new.clone()];
    let px = closes(&[("AAPL", "2025-01-17", "99"), ("AAPL", "2025-01-24", "97")]);
    let as_of = "2025-01-24";

    // The old lot carries its own buy-back: (2.00 − 0.50) × 100 − 1.30, status rolled.
    let first = actual(
        &view(MatchType::Consent, None, &[&opened], "2025-01-02"),
        &execs,
        &px,
        as_of,
    );
    assert_eq!(first.status, OutcomeStatus::Rolled);
    assert_eq!(first.realized_pnl, Some(m("148.70")));

    // The roll's actual side is the new position only: 1.60 × 100 − 0.65, expired.
    let roll = view(MatchType::Modify, Some(&rec), &[&back, &new], "2025-01-08");
    let book = Book::build(&execs, &px, d(as_of), TZ);
    let both = outcomes_for(&roll, &book, &execs, &px, d(as_of), TZ);
    let mine = both.iter().find(|o| o.side == Side::Actual).unwrap();
    assert_eq!(mine.premium, m("160"));
    assert_eq!(mine.realized_pnl, Some(m("159.35")));
    // The algorithm's new position: net credit 1.00 plus the 0.50 actually paid to buy
    // back = 1.50 premium for the Jan 17 95 put, which expired worthless at 99.
    let algo = both.iter().find(|o| o.side == Side::Algorithm).unwrap();
    assert_eq!(algo.premium, m("150"));
    assert_eq!(algo.status, OutcomeStatus::Expired);
    assert_eq!(algo.realized_pnl, Some(m("150")));
}

// ---------------------------------------------------------------------------------------
// The exchange calendar and symbol identity (SPEC §4.2)
// ---------------------------------------------------------------------------------------

fn window_on(calendar: TradingCalendar, sessions_after: u32) -> MatchRules {
    MatchRules {
        window: ResponseWindow {
            sessions_after,
            calendar,
        },
        ..MatchRules::default()
    }
}

/// A put on AAPL at 100 expiring four weeks after `day`.
fn put_after(day: &str) -> Contract {
    let expiration = (d(day) + Duration::days(28)).to_string();
    put("AAPL", &expiration, "100")
}

#[test]
fn a_closure_mid_window_keeps_it_open_and_the_trade_after_it_is_consent() {
    // (closure, recommendation sent, sold as recommended on the next session)
    let cases = [
        ("Martin Luther King Jr. Day", "2025-01-17", "2025-01-21"),
        ("Good Friday", "2025-04-17", "2025-04-21"),
        (
            "national day of mourning, Carter",
            "2025-01-08",
            "2025-01-10",
        ),
        ("national day of mourning, Bush", "2018-12-04", "2018-12-06"),
        ("Hurricane Sandy, two days", "2012-10-26", "2012-10-31"),
    ];
    for (closure, sent, traded) in cases {
        let rec = sell_rec(1, pt(sent, "10:00"), put_after(sent), 1, "1.00");
        let sold = fill(
            11,
            pt(traded, "07:00"),
            ExecAction::SellToOpen,
            put_after(sent),
            1,
            "1.00",
            "0.65",
        );
        let recs = [rec];
        let execs = [sold];
        let all = range(sent, traded, &recs, &execs);
        assert_eq!(
            dated_rows(&all),
            vec![(
                d(traded),
                "r:1".to_owned(),
                MatchType::Consent,
                Some(1),
                vec![11]
            )],
            "{closure}"
        );
        // Counting weekdays, the closure would have closed the window: a reject and an
        // independent trade, the fault this calendar fixes.
        let weekdays = window_on(TradingCalendar::weekdays(), 1);
        let all = reconcile_range(d(sent), d(traded), &recs, &execs, &weekdays, TZ);
        let types: Vec<MatchType> = all.iter().map(|(_, x)| x.match_type).collect();
        assert_eq!(
            types,
            vec![MatchType::Reject, MatchType::Independent],
            "{closure}"
        );
    }
}

#[test]
fn a_recommendation_sent_on_a_holiday_opens_on_the_next_session() {
    let sent = "2025-01-20"; // Martin Luther King Jr. Day
    let rec = sell_rec(1, pt(sent, "10:00"), put_after(sent), 1, "1.00");
    let wednesday = fill(
        11,
        pt("2025-01-22", "07:00"),
        ExecAction::SellToOpen,
        put_after(sent),
        1,
        "1.00",
        "0.65",
    );
    let answered = range(sent, "2025-01-24", std::slice::from_ref(&rec), &[wednesday]);
    assert_eq!(
        dated_rows(&answered),
        vec![(
            d("2025-01-22"),
            "r:1".to_owned(),
            MatchType::Consent,
            Some(1),
            vec![11]
        )]
    );
    let unanswered = range(sent, "2025-01-24", &[rec], &[]);
    assert_eq!(
        dated_rows(&unanswered),
        vec![(
            d("2025-01-22"),
            "r:1".to_owned(),
            MatchType::Reject,
            Some(1),
            vec![]
        )],
        "its window is Tuesday's session and the next one"
    );
}

#[test]
fn a_closed_weekday_tells_how_many_recommendations_stay_open_and_until_when() {
    let rules = MatchRules::default();
    let friday = sell_rec(
        1,
        pt("2025-01-17", "10:00"),
        put_after("2025-01-17"),
        1,
        "1",
    );
    let holiday = sell_rec(
        2,
        pt("2025-01-20", "10:00"),
        put_after("2025-01-20"),
        1,
        "1",
    );
    let open = [friday.clone(), holiday];
    assert_eq!(
        closure_notice(d("2025-01-20"), &open, &[], &rules, TZ),
        Some(ClosureNotice {
            day: d("2025-01-20"),
            held_open: 1,
            until: d("2025-01-21"),
        }),
        "Friday's recommendation would have closed today; the holiday's was not due"
    );
    assert_eq!(
        closure_notice(d("2025-01-21"), &open, &[], &rules, TZ),
        None
    );
    assert_eq!(
        closure_notice(d("2025-01-18"), &open, &[], &rules, TZ),
        None,
        "a weekend is no news"
    );
    // A recommendation decided on the day (here by a trade) is not waiting.
    let decided = day("2025-01-20", std::slice::from_ref(&friday), &[]);
    assert!(decided.is_empty());
    let traded = MatchDraft {
        key: "r:1".to_owned(),
        match_type: MatchType::Consent,
        underlying: Symbol::parse("AAPL").unwrap(),
        recommendation: Some(1),
        executions: vec![11],
        diff: Default::default(),
        modifications: Vec::new(),
    };
    assert_eq!(
        closure_notice(d("2025-01-20"), &[friday], &[traded], &rules, TZ),
        None
    );
}

#[test]
fn an_expiration_on_a_closure_settles_on_the_session_before_from_its_close() {
    // AAPL 2025-04-18 100 put: Good Friday, so the exchange's last session is Thursday.
    let good_friday = put("AAPL", "2025-04-18", "100");
    let sold = fill(
        11,
        pt("2025-04-01", "10:00"),
        ExecAction::SellToOpen,
        good_friday.clone(),
        1,
        "2.00",
        "0.65",
    );
    let execs = [sold];
    let mv = view(MatchType::Independent, None, &[&execs[0]], "2025-04-01");
    let o = actual(
        &mv,
        &execs,
        &closes(&[("AAPL", "2025-04-17", "97")]),
        "2025-04-17",
    );
    assert_eq!(o.status, OutcomeStatus::Assigned);
    assert_eq!(o.closed_day, Some(d("2025-04-17")));
    assert_eq!(o.close_cost, Some(m("300")));
    assert_eq!(o.realized_pnl, Some(m("-100.65")));
    // A close dated on the holiday itself is not the settlement close.
    let o = actual(
        &mv,
        &execs,
        &closes(&[("AAPL", "2025-04-18", "97")]),
        "2025-04-21",
    );
    assert_eq!(o.status, OutcomeStatus::AwaitingPrice);
    // The counterfactual of a recommendation settles the same way; a calendar without
    // the holiday would settle on the Friday.
    let rec = sell_rec(1, pt("2025-04-01", "09:30"), good_friday, 1, "2.00");
    let px = closes(&[("AAPL", "2025-04-17", "105"), ("AAPL", "2025-04-18", "90")]);
    let algo = counterfactual(&rec, &px, d("2025-04-21"), TZ);
    assert_eq!(algo.status, OutcomeStatus::Expired);
    assert_eq!(algo.closed_day, Some(d("2025-04-17")));
    let plain = counterfactual_with(&rec, &px, d("2025-04-21"), TZ, &TradingCalendar::weekdays());
    assert_eq!(plain.status, OutcomeStatus::Assigned);
    assert_eq!(plain.closed_day, Some(d("2025-04-18")));
}

#[test]
fn a_close_recommendation_for_a_position_expiring_on_a_closure_resolves_on_the_session_before() {
    let position = put("AAPL", "2025-04-18", "100");
    let rec = close_rec(1, pt("2025-04-16", "10:00"), position, 1, "0.10");
    let all = range("2025-04-16", "2025-04-22", &[rec], &[]);
    assert_eq!(
        dated_rows(&all),
        vec![(
            d("2025-04-17"),
            "r:1".to_owned(),
            MatchType::NoAction,
            Some(1),
            vec![]
        )]
    );
}

#[test]
fn every_spelling_and_option_root_of_an_underlying_pairs_as_one() {
    // (recommended underlying, the trade's contract as the broker wrote it, canonical)
    let cases = [
        ("BRK.B", "BRKB  250117P00450000", "BRK.B"),
        ("BRK/B", "BRK-B 250117P00450000", "BRK.B"),
        ("BRKB", "BRK.B250117P450", "BRK.B"),
        ("SPX", "SPXW  250117P05800000", "SPX"),
        ("NDX", "NDXP  250117P20000000", "NDX"),
        ("RUT", "RUTW  250117P02200000", "RUT"),
        ("VIX", "VIXW  250117P00015000", "VIX"),
    ];
    for (recommended, occ, canonical) in cases {
        let traded = Contract::parse_occ(occ).unwrap();
        let contract = Contract {
            underlying: Symbol::parse(recommended).unwrap(),
            ..traded.clone()
        };
        assert_eq!(contract, traded, "{occ}");
        assert_eq!(traded.underlying.as_str(), canonical, "{occ}");
        let root = occ.split(|c: char| c == ' ' || c.is_ascii_digit()).next();
        assert_eq!(Some(traded.underlying.written()), root, "{occ}");
        let rec = sell_rec(1, pt("2025-01-02", "09:30"), contract, 1, "1.00");
        let sold = fill(
            11,
            pt("2025-01-02", "10:00"),
            ExecAction::SellToOpen,
            traded,
            1,
            "1.00",
            "0.65",
        );
        let drafts = day("2025-01-02", &[rec], &[sold]);
        assert_eq!(
            rows(&drafts),
            vec![("r:1".to_owned(), MatchType::Consent, Some(1), vec![11])],
            "{recommended} and {occ}"
        );
        assert_eq!(drafts[0].underlying.as_str(), canonical);
    }
}

#[test]
fn a_trade_keeps_the_key_its_first_fill_spelled_whatever_order_the_fills_come_in() {
    let written = |id: i64, occ: &str| {
        fill(
            id,
            pt("2025-01-02", "10:00"),
            ExecAction::SellToOpen,
            Contract::parse_occ(occ).unwrap(),
            1,
            "4.00",
            "0.65",
        )
    };
    let a = written(11, "BRKB  250117P00450000");
    let b = written(12, "BRK.B 250117P00450000");
    for fills in [vec![a.clone(), b.clone()], vec![b, a]] {
        let trades = group_fills(&fills, TZ);
        assert_eq!(trades.len(), 1, "one contract, one trade");
        assert_eq!(trades[0].fills, vec![11, 12]);
        assert_eq!(trades[0].contract.underlying.as_str(), "BRK.B");
        // Keys spell the underlying as written, as they did before it had one name, so
        // reasons stored under them stay attached.
        assert_eq!(
            trades[0].key(),
            "t:2025-01-02:sell_to_open:BRKB250117P00450000"
        );
    }
}

#[test]
fn an_adjusted_option_root_is_refused_not_read_as_the_plain_underlying() {
    for occ in ["AAPL1 250117C00150000", "AAPL1250117C150"] {
        let e = Contract::parse_occ(occ).unwrap_err();
        assert_eq!(e, ContractError::AdjustedRoot("AAPL1".to_owned()), "{occ}");
        assert!(e.to_string().contains("adjusted option root"), "{e}");
        assert!(e.to_string().contains("100 shares"), "{e}");
    }
    assert_eq!(
        Symbol::parse_root("aapl1"),
        Err(ContractError::AdjustedRoot("AAPL1".to_owned()))
    );
    // A ticker may hold a digit; only an option's root is judged adjusted by one.
    assert_eq!(Symbol::parse("S1").unwrap().as_str(), "S1");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_trade_one_session_after_its_recommendation_matches_alike_with_or_without_a_closure_between(
        start in 0i64..730,
        closed in 1i64..=3,
        sessions_after in 1u32..=3,
        strike_off in -3i64..=3,
        weeks_off in -1i64..=1,
        contracts in 1i64..=3,
        minute in 0u32..=360,
    ) {
        let plain = TradingCalendar::weekdays();
        let sent = plain.session_on_or_after(d("2024-01-01") + Duration::days(start));
        // The next `closed` weekdays after the sending day are closures in the second world.
        let mut shut = Vec::new();
        let mut day = sent;
        while (shut.len() as i64) < closed {
            day = plain.next_session(day);
            shut.push(day);
        }
        let closing = TradingCalendar::new("closures", shut.clone());
        prop_assert_eq!(closing.next_session(sent), plain.add_sessions(sent, closed as u32 + 1));

        let recommended = put("XYZ", &(sent + Duration::days(30)).to_string(), "100");
        let at = |on: NaiveDate, minute: u32| {
            TZ.from_local_datetime(&on.and_hms_opt(6 + minute / 60, minute % 60, 0).unwrap())
                .single()
                .unwrap()
                .with_timezone(&Utc)
        };
        let rec = sell_rec(1, at(sent, 0), recommended.clone(), 2, "1.00");
        let traded = Contract {
            strike: recommended.strike + m(&strike_off.to_string()),
            expiration: recommended.expiration + Duration::days(7 * weeks_off),
            ..recommended
        };
        let mut outcome = Vec::new();
        for calendar in [plain, closing] {
            let on = calendar.next_session(sent);
            let sold = fill(11, at(on, minute), ExecAction::SellToOpen, traded.clone(), contracts, "1.00", "0.65");
            let rules = window_on(calendar, sessions_after);
            let all = reconcile_range(sent, on + Duration::days(10), std::slice::from_ref(&rec), &[sold], &rules, TZ);
            prop_assert_eq!(all.len(), 1, "{:#?}", all);
            let (matched_on, x) = &all[0];
            prop_assert_eq!(*matched_on, on);
            outcome.push((x.key.clone(), x.match_type, x.executions.clone(), x.modifications.clone(), format!("{:?}", x.diff)));
        }
        prop_assert_eq!(&outcome[0], &outcome[1], "closures {:?}", shut);
    }
}
