//! Broker exports: every fixture in `tests/fixtures/brokers/` is detected and read into
//! exactly the option events of its `*.expected.json` (conventions in that folder's
//! README), and overlapping downloads of one account give the same refs.
//!
//! The folder is read, so a fixture added there is tested with no new code.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use proptest::prelude::*;
use rlhf_bot::domain::Money;
use rlhf_bot::import::ImportFormat;
use rlhf_bot::import::brokers::{BrokerFile, FormatName, Positions, detect, parse, parse_any};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/brokers")
}

/// The format a fixture is in, from its name's first word.
fn format_of(name: &str) -> FormatName {
    let word = name.split('_').next().unwrap_or_default();
    match word {
        "tos" => FormatName::Thinkorswim,
        _ => FormatName::ALL
            .into_iter()
            .find(|f| f.as_str() == word)
            .unwrap_or_else(|| panic!("`{name}` does not start with a format's name")),
    }
}

/// One event, comparable whatever the file's zone and money spelling.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    account: Option<String>,
    executed_at: DateTime<Utc>,
    action: String,
    underlying: String,
    right: String,
    strike: Money,
    expiration: String,
    contracts: i64,
    price: Money,
    fees: Money,
}

fn money(value: &serde_json::Value) -> Money {
    match value {
        // No price for a lifecycle event, no fees where a format has none: zero.
        serde_json::Value::Null => Money::ZERO,
        serde_json::Value::String(s) => Money::parse(s).expect("money in the expected file"),
        other => panic!("money should be a string or null, got {other}"),
    }
}

/// An expected `executed_at`: an instant, or a date meaning 16:00 in New York.
fn instant(value: &str) -> DateTime<Utc> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return t.with_timezone(&Utc);
    }
    let day = NaiveDate::parse_from_str(value, "%Y-%m-%d").expect("a date or a timestamp");
    let close = day.and_time(NaiveTime::from_hms_opt(16, 0, 0).unwrap());
    chrono_tz::America::New_York
        .from_local_datetime(&close)
        .unwrap()
        .with_timezone(&Utc)
}

fn expected(path: &Path) -> Vec<Event> {
    let text = std::fs::read_to_string(path).expect("the expected file");
    let events: Vec<serde_json::Value> = serde_json::from_str(&text).expect("a JSON array");
    let mut events: Vec<Event> = events
        .iter()
        .map(|e| Event {
            account: e["account"].as_str().map(str::to_owned),
            executed_at: instant(e["executed_at"].as_str().unwrap()),
            action: e["action"].as_str().unwrap().to_owned(),
            underlying: e["underlying"].as_str().unwrap().to_owned(),
            right: e["right"].as_str().unwrap().to_owned(),
            strike: money(&e["strike"]),
            expiration: e["expiration"].as_str().unwrap().to_owned(),
            contracts: e["contracts"].as_i64().unwrap(),
            price: money(&e["price"]),
            fees: money(&e["fees"]),
        })
        .collect();
    events.sort();
    events
}

fn produced(file: &BrokerFile) -> Vec<Event> {
    let mut events: Vec<Event> = file
        .executions
        .iter()
        .map(|e| Event {
            account: e.broker_account.clone(),
            executed_at: e.executed_at,
            action: e.action.as_str().to_owned(),
            underlying: e.contract.underlying.to_string(),
            right: e.contract.right.as_str().to_owned(),
            strike: e.contract.strike,
            expiration: e.contract.expiration.to_string(),
            contracts: e.contracts,
            price: e.price,
            fees: e.fees,
        })
        .collect();
    events.sort();
    events
}

/// The data files of the folder, each with its expected events' file.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let mut cases: Vec<(PathBuf, PathBuf)> = std::fs::read_dir(fixtures())
        .expect("the fixtures folder")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !name.ends_with(".json") && !name.ends_with(".md")
        })
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            let expected = path.with_file_name(format!("{stem}.expected.json"));
            (path, expected)
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn every_fixture_is_detected_and_produces_exactly_its_expected_events() {
    let cases = cases();
    assert!(cases.len() >= 7, "the fixtures are missing: {cases:?}");
    for (data, expected_path) in cases {
        let name = data.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&data).unwrap();
        assert_eq!(detect(&bytes), Ok(format_of(&name)), "{name}: detected as");
        let file = parse_any(ImportFormat::Auto, &bytes, Some(&name), &Positions::new())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            file.rejected.is_empty(),
            "{name}: rejected {:?}",
            file.rejected
        );
        let (got, want) = (produced(&file), expected(&expected_path));
        let missing: Vec<&Event> = want.iter().filter(|e| !got.contains(e)).collect();
        let extra: Vec<&Event> = got.iter().filter(|e| !want.contains(e)).collect();
        assert_eq!(
            got, want,
            "{name}: missing {missing:#?}\nnot expected {extra:#?}"
        );
        let refs: std::collections::BTreeSet<&str> = file
            .executions
            .iter()
            .map(|e| e.broker_ref.as_str())
            .collect();
        assert_eq!(refs.len(), file.executions.len(), "{name}: refs are unique");
    }
}

#[test]
fn every_fixture_counts_what_it_left_out() {
    for (data, _) in cases() {
        let name = data.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&data).unwrap();
        let file = parse_any(ImportFormat::Auto, &bytes, Some(&name), &Positions::new()).unwrap();
        // Every story has a stock trade (or a cancelled order, for Webull) left out.
        let left_out: u64 = ["stock", "cancelled"]
            .iter()
            .filter_map(|k| file.ignored.get(*k))
            .sum();
        assert!(left_out >= 1, "{name}: ignored {:?}", file.ignored);
    }
}

#[test]
fn the_dry_run_json_has_the_contract_shape() {
    let data = fixtures().join("schwab_history.csv");
    let bytes = std::fs::read(&data).unwrap();
    let file = parse_any(ImportFormat::Auto, &bytes, None, &Positions::new()).unwrap();
    let json = serde_json::to_value(&file).unwrap();
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&json), ["executions", "format", "ignored", "rejected"]);
    assert_eq!(json["format"], "schwab");
    let first = json["executions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["underlying"] == "AAPL" && e["action"] == "sell_to_open")
        .unwrap();
    let mut expected = vec![
        "account",
        "broker",
        "broker_account",
        "broker_ref",
        "executed_at",
        "action",
        "underlying",
        "right",
        "strike",
        "expiration",
        "contracts",
        "price",
        "fees",
    ];
    expected.sort();
    assert_eq!(keys(first), expected);
    assert_eq!(first["account"], serde_json::Value::Null);
    assert_eq!(first["broker"], "schwab");
    assert_eq!(first["executed_at"], "2025-01-06T21:00:00Z");
    assert_eq!(first["strike"], "230.00");
    assert_eq!(first["price"], "2.15");
    assert_eq!(first["fees"], "0.66");
    assert_eq!(json["ignored"]["stock"], 2);
    assert_eq!(json["rejected"], serde_json::json!([]));
}

// ---------------------------------------------------------------------------------------
// Overlapping downloads

/// One fill of the generated histories: day offset from 2025-01-02, contracts, price in
/// cents. Every fill sells the same put, so identical fills are identical rows.
type Fill = (u32, i64, i64);

fn day(offset: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 2).unwrap() + chrono::Days::new(u64::from(offset))
}

fn dollars(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// A history of `fills` as `format` writes it, newest first as brokers do.
fn history(format: FormatName, fills: &[Fill]) -> String {
    let (header, row): (&str, fn(&Fill) -> String) = match format {
        FormatName::Schwab => (
            "\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\"\r\n",
            |(d, n, c)| {
                format!(
                    "\"{}\",\"Sell to Open\",\"SPY 03/21/2025 580.00 P\",\"PUT SPDR\",\"{n}\",\"${}\",\"$0.66\",\"$1.00\"\r\n",
                    day(*d).format("%m/%d/%Y"),
                    dollars(*c)
                )
            },
        ),
        FormatName::Robinhood => (
            "\"Activity Date\",\"Process Date\",\"Settle Date\",\"Instrument\",\"Description\",\"Trans Code\",\"Quantity\",\"Price\",\"Amount\"\n",
            |(d, n, c)| {
                let date = day(*d).format("%-m/%-d/%Y");
                format!(
                    "\"{date}\",\"{date}\",\"{date}\",\"SPY\",\"SPY 3/21/2025 Put $580.00\",\"STO\",\"{n}\",\"${}\",\"${}\"\n",
                    dollars(*c),
                    dollars(c * 100 * n - 5)
                )
            },
        ),
        FormatName::Fidelity => (
            "\u{feff}\n\nRun Date,Action,Symbol,Description,Type,Price ($),Quantity,Commission ($),Fees ($),Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date\n",
            |(d, n, c)| {
                format!(
                    "{},\"YOU SOLD OPENING TRANSACTION PUT (SPY) SPDR S&P500 ETF TRUST MAR 21 25 $580 (100 SHS) (Margin)\", -SPY250321P580,\"PUT (SPY)\",Margin,{},-{n},0.65,0.02,,1.00,1000.00,\n",
                    day(*d).format("%m/%d/%Y"),
                    dollars(*c)
                )
            },
        ),
        FormatName::Webull => (
            "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\r\n",
            |(d, n, c)| {
                let date = day(*d).format("%m/%d/%Y");
                format!(
                    "SPY250321P00580000,SPY250321P00580000,Sell,Filled,{n},{n},@{p},{p},DAY,{date} 10:00:00 EST,{date} 10:00:05 EST\r\n",
                    p = dollars(*c)
                )
            },
        ),
        other => panic!("no generator for {other}"),
    };
    let mut text = header.to_owned();
    for fill in fills.iter().rev() {
        text.push_str(&row(fill));
    }
    text
}

/// The refs of the events on the days of `days`, each with its day.
fn refs_on(
    format: FormatName,
    text: &str,
    days: std::ops::RangeInclusive<u32>,
) -> BTreeMap<String, u32> {
    let file = parse(format, text.as_bytes(), None, &Positions::new()).unwrap();
    assert!(file.rejected.is_empty(), "{:?}", file.rejected);
    file.executions
        .iter()
        .filter_map(|e| {
            let on = rlhf_bot::domain::day_of(e.executed_at, chrono_tz::America::New_York);
            let offset = u32::try_from((on - day(0)).num_days()).unwrap();
            days.contains(&offset)
                .then(|| (e.broker_ref.clone(), offset))
        })
        .collect()
}

proptest! {
    /// Exports are date ranges: a prefix and a suffix of one history that overlap on
    /// some days give those days' events the same refs as the whole history does, so
    /// importing both adds nothing twice — identical fills included, in formats that
    /// have no id of their own.
    #[test]
    fn overlapping_downloads_give_the_overlap_the_same_refs(
        format in prop::sample::select(vec![
            FormatName::Schwab,
            FormatName::Robinhood,
            FormatName::Fidelity,
            FormatName::Webull,
        ]),
        fills in prop::collection::vec((0u32..10, 1i64..3, 100i64..103), 1..30),
        a in 0u32..10,
        b in 0u32..10,
    ) {
        let mut fills = fills;
        fills.sort();
        let (from, to) = (a.min(b), a.max(b));
        let prefix: Vec<Fill> = fills.iter().copied().filter(|f| f.0 <= to).collect();
        let suffix: Vec<Fill> = fills.iter().copied().filter(|f| f.0 >= from).collect();
        let overlap = from..=to;
        let in_whole = refs_on(format, &history(format, &fills), overlap.clone());
        let in_prefix = refs_on(format, &history(format, &prefix), overlap.clone());
        let in_suffix = refs_on(format, &history(format, &suffix), overlap);
        prop_assert_eq!(&in_prefix, &in_whole);
        prop_assert_eq!(&in_suffix, &in_whole);
        let count = fills.iter().filter(|f| (from..=to).contains(&f.0)).count();
        prop_assert_eq!(in_whole.len(), count, "one ref per event");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Whatever bytes come in, under any format: events, rejected rows or one file
    /// error — never a panic. The inputs are fixtures cut short and with bytes changed.
    #[test]
    fn no_file_makes_any_format_panic(
        which in 0usize..64,
        cut in 0.0f64..=1.0,
        flips in prop::collection::vec((0.0f64..1.0, any::<u8>()), 0..12),
        format in 0usize..16,
    ) {
        use clap::ValueEnum;
        let cases = cases();
        let (path, _) = &cases[which % cases.len()];
        let mut bytes = std::fs::read(path).unwrap();
        for (at, byte) in flips {
            let i = (at * bytes.len() as f64) as usize;
            if let Some(b) = bytes.get_mut(i) {
                *b = byte;
            }
        }
        bytes.truncate((cut * bytes.len() as f64) as usize);
        let formats = ImportFormat::value_variants();
        let format = formats[format % formats.len()];
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Ok(file) = parse_any(format, &bytes, Some(&name), &Positions::new()) {
            for e in &file.rejected {
                prop_assert!(!e.reason.is_empty() && !e.reason.contains("Some("), "{e}");
            }
        }
    }
}
