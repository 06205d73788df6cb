//! Webull's options orders export (`Webull_Orders_Records_Options.csv`).
//!
//! `Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,
//! Filled Time`: a list of orders, not transactions. An order that filled anything
//! (`Filled`, or `Cancelled` after a partial fill) is one event of `Filled` contracts
//! at `Avg Price` (`Price` is the limit), at `Filled Time` (`01/14/2025 10:05:07 EST`).
//! Multi-leg orders are a parent row (`MSFT Diagonal`, no `Symbol`) and leg rows with no
//! `Name`: the legs are the events. `Symbol` is an unpadded OCC symbol; older exports
//! name the contract in words (`SPY 06/11/2024 00:00:00 EDT Call $537.00`), sometimes
//! in both columns.
//!
//! The export has no open/close flag, no fees, no account and no expirations or
//! assignments: whether a buy opens or closes is inferred from the running position,
//! starting from the positions the account already holds.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use super::{BuySell, FormatName};
use crate::domain::{Contract, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[&[
    "Name",
    "Symbol",
    "Side",
    "Status",
    "Filled",
    "Total Qty",
    "Price",
    "Avg Price",
    "Filled Time",
]];

fields!(
    /// The columns read from a Webull orders export.
    F {
        Name => ["Name"],
        Symbol => ["Symbol"],
        Side => ["Side"],
        Status => ["Status"],
        Filled => ["Filled"],
        AvgPrice => ["Avg Price"],
        PlacedTime => ["Placed Time"],
        FilledTime => ["Filled Time"],
    }
);

const REQUIRED: &[F] = &[
    F::Symbol,
    F::Side,
    F::Status,
    F::Filled,
    F::AvgPrice,
    F::FilledTime,
];

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let mut header: Option<Header<F>> = None;
    for rec in &sheet.records {
        if let Some(h) = rec.header(F::named, REQUIRED) {
            header = Some(h);
            parsed.skip(Skip::Header);
            continue;
        }
        match &header {
            None => parsed.skip(Skip::Preamble),
            Some(_) if rec.is_blank() => parsed.skip(Skip::Blank),
            Some(h) => parsed.take(row(rec, h)),
        }
    }
    if header.is_none() {
        return Err(sheet::no_header(FormatName::Webull, SIGNATURES[0]));
    }
    Ok(parsed)
}

fn row(rec: &Rec, header: &Header<F>) -> Result<Outcome, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let status = p.text(F::Status).unwrap_or_default().to_ascii_lowercase();
    let filled = p.required(F::Filled, values::quantity);
    let Some(filled) = filled else {
        return Err(p.take_error());
    };
    let unfilled = if status.starts_with("cancel") {
        Skip::Cancelled
    } else {
        Skip::Unfilled
    };
    let symbol = p.text(F::Symbol).unwrap_or_default();
    let name = p.text(F::Name).unwrap_or_default();
    if symbol.is_empty() && !name.is_empty() {
        // A multi-leg order's parent: its legs follow.
        return Ok(Outcome::Skip(if filled > 0 {
            Skip::Summary
        } else {
            unfilled
        }));
    }
    if filled <= 0 {
        return Ok(Outcome::Skip(unfilled));
    }
    if filled > values::MAX_CONTRACTS {
        return Err(p.error(
            F::Filled,
            format!(
                "`{filled}` is not a number of contracts (expected a whole number from 1 to {})",
                values::MAX_CONTRACTS
            ),
        ));
    }
    let Some(contract) = contract(symbol).or_else(|| contract(name)) else {
        if values::ticker(symbol).is_ok() {
            // The share leg of a covered-stock order.
            return Ok(Outcome::Skip(Skip::Stock));
        }
        return Err(p.error(
            F::Symbol,
            format!("`{symbol}` is not an option symbol (expected e.g. `SPY250117P00580000`)"),
        ));
    };
    let side = match p.text(F::Side).map(str::to_ascii_lowercase).as_deref() {
        Some("buy") => Some(BuySell::Buy),
        Some("sell" | "short" | "sell short") => Some(BuySell::Sell),
        other => {
            let other = other.unwrap_or_default().to_owned();
            p.fail(
                F::Side,
                format!("`{other}` is not a side (expected Buy or Sell)"),
            );
            None
        }
    };
    let price = p.required(F::AvgPrice, |s| {
        values::broker_money(s.trim_start_matches('@'))
    });
    let executed_at = p.required(F::FilledTime, time);
    let placed = p.text(F::PlacedTime).map(str::to_owned);
    let (Some(side), Some(price), Some(executed_at)) = (side, price, executed_at) else {
        return Err(p.take_error());
    };
    p.check()?;
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: None,
        key: RefKey::Content(placed.map(|t| format!("placed {t}"))),
        executed_at,
        act: Act::Side(side),
        contract,
        contracts: filled,
        price: price.abs(),
        fees: Money::ZERO,
    }))
}

/// An unpadded OCC symbol, or the words older exports use:
/// `SPY 06/11/2024 00:00:00 EDT Call $537.00`.
fn contract(text: &str) -> Option<Contract> {
    if let Ok(contract) = values::occ(text) {
        return Some(contract);
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let [root, date, .., right, strike] = words[..] else {
        return None;
    };
    let expiration = values::us_date(date).ok()?;
    let right = values::right(right).ok()?;
    let strike = values::broker_money(strike).ok()?;
    values::contract(root, expiration, right, strike).ok()
}

/// `01/14/2025 10:05:07 EST`: US Eastern, by its abbreviation (New York time when the
/// abbreviation is missing).
fn time(text: &str) -> Result<DateTime<Utc>, String> {
    let bad = || format!("`{text}` is not a time (expected e.g. 01/14/2025 10:05:07 EST)");
    let words: Vec<&str> = text.split_whitespace().collect();
    let (local, zone) = match words[..] {
        [date, time] => (format!("{date} {time}"), None),
        [date, time, zone] => (format!("{date} {time}"), Some(zone)),
        _ => return Err(bad()),
    };
    let local = NaiveDateTime::parse_from_str(&local, "%m/%d/%Y %H:%M:%S").map_err(|_| bad())?;
    let offset = match zone.map(str::to_ascii_uppercase).as_deref() {
        Some("EST") => FixedOffset::west_opt(5 * 3600),
        Some("EDT") => FixedOffset::west_opt(4 * 3600),
        Some(other) => match sheet::us_zone(other) {
            Some(tz) => return sheet::in_zone(local, tz),
            None => return Err(bad()),
        },
        None => return sheet::in_zone(local, sheet::NEW_YORK),
    };
    offset
        .and_then(|o| o.from_local_datetime(&local).single())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, parse_text};
    use super::super::{FormatName, Positions, parse};
    use crate::domain::{Contract, ExecAction};

    #[test]
    fn the_2022_layout_names_contracts_in_words_in_either_column() {
        let text = concat!(
            "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n",
            "SPY 09/30/2022 00:00:00 EDT Call $364.00,SPY 09/30/2022 00:00:00 EDT Call $364.00,Buy,Filled,2,2,1.36,1.36,DAY,09/26/2022 13:04:10 EDT,09/26/2022 13:04:23 EDT\n",
            "SPY 09/30/2022 00:00:00 EDT Call $364.00,SPY220930C00364000,Sell,Filled,1,1,@2.00,2.00,DAY,09/27/2022 10:00:00 EDT,09/27/2022 10:00:01 EDT\n",
            "AAPL CoveredStock,,Buy,Filled,1,1,@150,150,DAY,09/27/2022 11:00:00 EDT,09/27/2022 11:00:01 EDT\n",
            ",AAPL,Buy,Filled,100,100,,150.00,DAY,09/27/2022 11:00:00 EDT,09/27/2022 11:00:01 EDT\n",
            "SPY220930C00365000,SPY220930C00365000,Buy,Failed,0,1,@1.00,,DAY,09/27/2022 12:00:00 EDT,\n",
        );
        let file = parse_text(FormatName::Webull, text, None);
        assert_eq!(
            events(&file),
            [
                "- 2022-09-26T17:04:23Z buy_to_open SPY 2022-09-30 364.00 call 2 @1.36 fees 0.00",
                "- 2022-09-27T14:00:01Z sell_to_close SPY 2022-09-30 364.00 call 1 @2.00 fees 0.00",
            ]
        );
        assert_eq!(file.ignored["summary"], 1);
        assert_eq!(file.ignored["stock"], 1);
        assert_eq!(file.ignored["unfilled"], 1);
    }

    #[test]
    fn positions_held_before_the_file_decide_open_or_close_and_a_crossing_splits() {
        let text = concat!(
            "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,Time-in-Force,Placed Time,Filled Time\n",
            "SPY250117P00580000,SPY250117P00580000,Buy,Filled,3,3,@0.35,0.35,GTC,01/10/2025 15:12:40 EST,01/13/2025 14:30:00 EST\n",
        );
        let c = Contract::parse_occ("SPY250117P00580000").unwrap();
        let known = Positions::from([(c, -2)]);
        let file = parse(FormatName::Webull, text.as_bytes(), None, &known).unwrap();
        let legs: Vec<(ExecAction, i64, &str)> = file
            .executions
            .iter()
            .map(|e| (e.action, e.contracts, e.broker_ref.as_str()))
            .collect();
        assert_eq!(
            legs,
            [
                (
                    ExecAction::BuyToClose,
                    2,
                    "placed 01/10/2025 15:12:40 EST/20250113T193000Z/buy/SPY250117P00580000/3@0.35#1/close"
                ),
                (
                    ExecAction::BuyToOpen,
                    1,
                    "placed 01/10/2025 15:12:40 EST/20250113T193000Z/buy/SPY250117P00580000/3@0.35#1/open"
                ),
            ]
        );
    }
}
