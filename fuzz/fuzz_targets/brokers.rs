//! Broker exports, as the bot reads a document sent in the chat and the CLI and HTTP
//! API read an upload: format detection, then every format's parser over the same
//! bytes (so each seed reaches all nine). No file panics; every event read keeps the
//! bounds of a row (contracts 1 to 100,000, amounts within $10,000,000, fees not
//! negative, a positive strike), events come in time order, and a rejected row names
//! its line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rlhf_bot::domain::Money;
use rlhf_bot::fuzzing::cells::{MAX_CONTRACTS, MAX_DOLLARS};
use rlhf_bot::import::ImportFormat;
use rlhf_bot::import::brokers::{self, BrokerFile, FormatName, Positions};

const NAMES: [Option<&str>; 3] = [
    None,
    Some("History_for_Account_X12345678-3.csv"),
    Some("Individual_XXX123_Transactions_20250117-101530.csv"),
];

fn check(format: FormatName, file: &BrokerFile) {
    let limit = Money::from_dollars(MAX_DOLLARS);
    for e in &file.executions {
        assert!(
            (1..=MAX_CONTRACTS).contains(&e.contracts),
            "{format:?}: {} contracts on line {}",
            e.contracts,
            e.line
        );
        assert!(e.price.abs() <= limit, "{format:?}: price {:?}", e.price);
        assert!(
            !e.fees.is_negative() && e.fees <= limit,
            "{format:?}: fees {:?} on line {}",
            e.fees,
            e.line
        );
        assert!(e.contract.strike > Money::ZERO);
        assert!(e.broker_ref.chars().count() <= 128 || format == FormatName::Generic);
    }
    assert!(
        file.executions
            .windows(2)
            .all(|w| w[0].executed_at <= w[1].executed_at),
        "{format:?}: events out of time order"
    );
    for r in &file.rejected {
        assert!(
            r.line >= 1,
            "{format:?}: a rejected row without a line: {r:?}"
        );
        assert!(!r.reason.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    let known = Positions::new();
    let detected = brokers::detect(data);
    if let Ok(format) = detected {
        let auto = brokers::parse_any(ImportFormat::Auto, data, None, &known);
        let direct = brokers::parse(format, data, None, &known);
        match (&auto, &direct) {
            (Ok(a), Ok(d)) => assert_eq!(a, d, "auto and {format:?} read differently"),
            (Err(_), Err(_)) => {}
            _ => panic!("auto and {format:?} disagree on whether the file reads"),
        }
    } else if let Err(e) = &detected {
        let _ = e.to_string();
    }
    // A file name, as a document sent in the chat carries one: the first line.
    let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let from_data = std::str::from_utf8(first_line).ok();
    for format in FormatName::ALL {
        // Only Schwab and Fidelity read the account from the file name.
        let names: &[Option<&str>] = match format {
            FormatName::Schwab | FormatName::Fidelity => &[NAMES[0], NAMES[1], NAMES[2], from_data],
            _ => &[None],
        };
        for &name in names {
            if let Ok(file) = brokers::parse(format, data, name, &known) {
                check(format, &file);
                let _ = file
                    .executions
                    .iter()
                    .map(|e| e.to_execution(rlhf_bot::domain::AccountId(1)));
            }
        }
    }
});
