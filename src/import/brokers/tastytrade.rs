//! tastytrade (tastyworks) transactions, three generations.
//!
//! - Web, 2024+: `Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,
//!   Quantity,Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,
//!   Expiration Date,Strike Price,Call or Put,Order #[,Total],Currency`. Times carry the
//!   user's offset without a colon (`2025-01-06T07:15:30-0800`). `Sub Type` says what
//!   happened (`Sell to Open`, `Expiration`, `Assignment`, `Symbol Change`, …).
//! - Web, 2021: the same without `Sub Type`, `Root Symbol`, `Order #`: trades by
//!   `Action`, lifecycle rows by their `Description` (`Removal of option due to
//!   assignment`).
//! - Desktop (legacy): `Date/Time,Transaction Code,Transaction Subcode,Symbol,Buy/Sell,
//!   Open/Close,Quantity,Expiration Date,Strike,Call/Put,Price,Fees,Amount,Description,
//!   Account Reference`, local times without a zone (read as New York time: the
//!   exporting computer's zone is not in the file).
//!
//! The web `Average Price` is per contract and signed: the price per share is its size
//! over `Multiplier`. Commissions and fees are negative (or `--`) and add up to the
//! fees. Option rows that are not trades (symbol changes, splits, mergers) are counted,
//! not imported; the stock row of an assignment is stock.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use super::{BuySell, FormatName};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[
    &[
        "Date",
        "Type",
        "Action",
        "Symbol",
        "Instrument Type",
        "Description",
        "Value",
        "Quantity",
        "Average Price",
        "Commissions",
        "Fees",
        "Multiplier",
    ],
    &[
        "Date/Time",
        "Transaction Code",
        "Transaction Subcode",
        "Symbol",
        "Buy/Sell",
        "Open/Close",
        "Quantity",
        "Expiration Date",
        "Strike",
        "Call/Put",
        "Price",
        "Fees",
    ],
];

fields!(
    /// The columns read from a web transactions export (2021 and 2024+).
    W {
        Date => ["Date"],
        Type => ["Type"],
        SubType => ["Sub Type"],
        Action => ["Action"],
        Symbol => ["Symbol"],
        InstrumentType => ["Instrument Type"],
        Description => ["Description"],
        Quantity => ["Quantity"],
        AveragePrice => ["Average Price"],
        Commissions => ["Commissions"],
        Fees => ["Fees"],
        Multiplier => ["Multiplier"],
        Root => ["Root Symbol"],
        Underlying => ["Underlying Symbol"],
        Expiration => ["Expiration Date"],
        Strike => ["Strike Price"],
        CallOrPut => ["Call or Put"],
        Order => ["Order #"],
    }
);

const WEB: &[W] = &[
    W::Date,
    W::Type,
    W::Action,
    W::Symbol,
    W::InstrumentType,
    W::Quantity,
    W::AveragePrice,
];

fields!(
    /// The columns read from a desktop (legacy) export.
    D {
        DateTime => ["Date/Time"],
        Code => ["Transaction Code"],
        Subcode => ["Transaction Subcode"],
        Symbol => ["Symbol"],
        BuySell => ["Buy/Sell"],
        OpenClose => ["Open/Close"],
        Quantity => ["Quantity"],
        Expiration => ["Expiration Date"],
        Strike => ["Strike"],
        CallPut => ["Call/Put"],
        Price => ["Price"],
        Fees => ["Fees"],
        Description => ["Description"],
        Account => ["Account Reference"],
    }
);

const DESKTOP: &[D] = &[
    D::DateTime,
    D::Code,
    D::Subcode,
    D::Symbol,
    D::Quantity,
    D::Expiration,
    D::Strike,
    D::CallPut,
    D::Price,
];

enum Layout {
    Web(Header<W>),
    Desktop(Header<D>),
}

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let mut layout: Option<Layout> = None;
    for rec in &sheet.records {
        if let Some(h) = rec.header(W::named, WEB) {
            layout = Some(Layout::Web(h));
            parsed.skip(Skip::Header);
            continue;
        }
        if let Some(h) = rec.header(D::named, DESKTOP) {
            layout = Some(Layout::Desktop(h));
            parsed.skip(Skip::Header);
            continue;
        }
        match &layout {
            None => parsed.skip(Skip::Preamble),
            Some(_) if rec.is_blank() => parsed.skip(Skip::Blank),
            Some(Layout::Web(h)) => parsed.take(web_row(rec, h)),
            Some(Layout::Desktop(h)) => parsed.take(desktop_row(rec, h)),
        }
    }
    if layout.is_none() {
        return Err(sheet::no_header(FormatName::Tastytrade, SIGNATURES[0]));
    }
    Ok(parsed)
}

// ---------------------------------------------------------------------------------------
// Web

/// What a web row is.
enum What {
    Event(ExecAction),
    Skip(Skip),
}

fn web_row(rec: &Rec, header: &Header<W>) -> Result<Outcome, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let instrument = p
        .text(W::InstrumentType)
        .unwrap_or_default()
        .to_ascii_lowercase();
    let kind = p.text(W::Type).unwrap_or_default().to_ascii_lowercase();
    let sub_type = p.text(W::SubType).unwrap_or_default().to_ascii_lowercase();
    let description = p.text(W::Description).unwrap_or_default();
    if instrument.contains("future") {
        return Ok(Outcome::Skip(Skip::Futures));
    }
    if !instrument.contains("option") {
        return Ok(Outcome::Skip(if instrument.is_empty() {
            sheet::kind_of(&format!("{sub_type} {description}"))
        } else {
            Skip::Stock
        }));
    }
    let what = if sub_type.is_empty() {
        web_2021(&kind, p.text(W::Action).unwrap_or_default(), description)
    } else {
        match sub_type_action(&sub_type) {
            Some(action) => What::Event(action),
            // An unknown sub type of a trade: the action column still says it.
            None if kind == "trade" => web_2021(&kind, p.text(W::Action).unwrap_or_default(), ""),
            None => What::Skip(corporate_or_other(&sub_type)),
        }
    };
    let action = match what {
        What::Event(action) => action,
        What::Skip(kind) => return Ok(Outcome::Skip(kind)),
    };
    let executed_at = p.required(W::Date, timestamp);
    let quantity = p.required(W::Quantity, values::signed_contracts);
    let multiplier = p.optional(W::Multiplier, values::quantity).unwrap_or(100);
    let average = if action.is_lifecycle() {
        Some(Money::ZERO)
    } else {
        p.value(
            W::AveragePrice,
            Some(&format!(
                "a price is required for {action}, but none was given"
            )),
            values::broker_money,
        )
    };
    let commissions = p.optional(W::Commissions, dashes_money).flatten();
    let fees = p.optional(W::Fees, dashes_money).flatten();
    let contract = web_contract(&mut p);
    let order = p.text(W::Order).map(|o| format!("order {o}"));
    let (Some(executed_at), Some(quantity), Some(average), Some(contract)) =
        (executed_at, quantity, average, contract)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    if multiplier <= 0 {
        return Err(p.error(
            W::Multiplier,
            format!("`{multiplier}` is not a multiplier (expected e.g. 100)"),
        ));
    }
    let contracts = quantity.abs();
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: None,
        key: RefKey::Content(order),
        executed_at,
        act: Act::Known(action),
        contract,
        contracts,
        price: per_share(average.abs(), multiplier),
        fees: if action.is_lifecycle() {
            Money::ZERO
        } else {
            commissions.unwrap_or_default().abs() + fees.unwrap_or_default().abs()
        },
    }))
}

/// The 2021 layout (and trades whose sub type is new): trades by `Action`, lifecycle
/// rows by their description.
fn web_2021(kind: &str, action: &str, description: &str) -> What {
    if kind == "trade" {
        return match action_word(action) {
            Some(action) => What::Event(action),
            None => What::Skip(Skip::Other),
        };
    }
    let d = description.to_ascii_lowercase();
    if d.contains("due to expiration") {
        What::Event(ExecAction::Expired)
    } else if d.contains("due to assignment") {
        What::Event(ExecAction::Assigned)
    } else if d.contains("due to exercise") {
        What::Event(ExecAction::Exercised)
    } else {
        // Option rows that are not trades: symbol changes, splits, mergers.
        What::Skip(corporate_or_other(&d))
    }
}

fn corporate_or_other(words: &str) -> Skip {
    match sheet::kind_of(words) {
        Skip::Stock | Skip::Other => Skip::CorporateAction,
        kind => kind,
    }
}

fn sub_type_action(sub_type: &str) -> Option<ExecAction> {
    Some(match sub_type {
        "sell to open" => ExecAction::SellToOpen,
        "buy to close" => ExecAction::BuyToClose,
        "buy to open" => ExecAction::BuyToOpen,
        "sell to close" => ExecAction::SellToClose,
        "expiration" => ExecAction::Expired,
        "assignment" => ExecAction::Assigned,
        "exercise" => ExecAction::Exercised,
        _ => return None,
    })
}

/// `SELL_TO_OPEN`, `Sell to Open`.
fn action_word(text: &str) -> Option<ExecAction> {
    sub_type_action(&text.replace('_', " ").to_ascii_lowercase()).filter(|a| !a.is_lifecycle())
}

/// The padded OCC `Symbol`, or else the contract columns.
fn web_contract(p: &mut RowParser<'_, '_, W>) -> Option<Contract> {
    let symbol = p.text(W::Symbol).unwrap_or_default();
    if let Ok(contract) = values::occ(symbol) {
        return Some(contract);
    }
    let root = p.text(W::Underlying).or(p.text(W::Root));
    let expiration = p.required(W::Expiration, values::us_date);
    let right = p.required(W::CallOrPut, values::right);
    let strike = p.required(W::Strike, values::broker_money);
    match (root, expiration, right, strike) {
        (Some(root), Some(e), Some(r), Some(s)) => match values::contract(root, e, r, s) {
            Ok(c) => Some(c),
            Err(reason) => {
                p.fail(W::Symbol, reason);
                None
            }
        },
        (None, ..) => {
            p.fail(
                W::Symbol,
                format!("`{symbol}` is not an option symbol, and no underlying is given"),
            );
            None
        }
        _ => None,
    }
}

/// `2025-01-06T07:15:30-0800` (no colon in the offset) or RFC 3339.
fn timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            format!("`{text}` is not a tastytrade time (expected e.g. 2025-01-06T07:15:30-0800)")
        })
}

/// Money where `--` means none.
fn dashes_money(text: &str) -> Result<Option<Money>, String> {
    if text.trim_matches('-').is_empty() {
        return Ok(None);
    }
    values::broker_money(text).map(Some)
}

/// A per-contract price over the multiplier, rounded half away from zero.
fn per_share(per_contract: Money, multiplier: i64) -> Money {
    let units = per_contract.units();
    let (q, r) = (units / multiplier, units % multiplier);
    Money::from_units(if 2 * r.abs() >= multiplier {
        q + units.signum()
    } else {
        q
    })
}

// ---------------------------------------------------------------------------------------
// Desktop

fn desktop_row(rec: &Rec, header: &Header<D>) -> Result<Outcome, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let code = p.text(D::Code).unwrap_or_default().to_ascii_lowercase();
    let subcode = p.text(D::Subcode).unwrap_or_default().to_ascii_lowercase();
    if p.is_blank(D::Expiration) || p.is_blank(D::CallPut) {
        return Ok(Outcome::Skip(if code == "money movement" {
            sheet::kind_of(&format!(
                "{subcode} {}",
                p.text(D::Description).unwrap_or_default()
            ))
        } else {
            Skip::Stock
        }));
    }
    let action = match sub_type_action(&subcode) {
        Some(action) => action,
        None => {
            let side = match p.text(D::BuySell).map(str::to_ascii_lowercase).as_deref() {
                Some("buy") => Some(BuySell::Buy),
                Some("sell") => Some(BuySell::Sell),
                _ => None,
            };
            let open = p.text(D::OpenClose).map(str::to_ascii_lowercase);
            match (code.as_str(), side, open.as_deref()) {
                ("trade", Some(BuySell::Buy), Some("open")) => ExecAction::BuyToOpen,
                ("trade", Some(BuySell::Buy), Some("close")) => ExecAction::BuyToClose,
                ("trade", Some(BuySell::Sell), Some("open")) => ExecAction::SellToOpen,
                ("trade", Some(BuySell::Sell), Some("close")) => ExecAction::SellToClose,
                _ => return Ok(Outcome::Skip(corporate_or_other(&subcode))),
            }
        }
    };
    let executed_at = p.required(D::DateTime, desktop_time);
    let root = p.required(D::Symbol, values::ticker);
    let expiration = p.required(D::Expiration, values::us_date);
    let strike = p.required(D::Strike, values::broker_money);
    let right = p.required(D::CallPut, values::right);
    let quantity = p.required(D::Quantity, values::signed_contracts);
    let price = if action.is_lifecycle() {
        Some(Money::ZERO)
    } else {
        p.value(
            D::Price,
            Some(&format!(
                "a price per share is required for {action}, but none was given"
            )),
            values::broker_money,
        )
    };
    let fees = p
        .optional(D::Fees, values::broker_money)
        .unwrap_or_default();
    let account = p.text(D::Account).map(str::to_owned);
    let (
        Some(executed_at),
        Some(root),
        Some(expiration),
        Some(strike),
        Some(right),
        Some(quantity),
        Some(price),
    ) = (
        executed_at,
        root,
        expiration,
        strike,
        right,
        quantity,
        price,
    )
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let contract = values::contract(root.as_str(), expiration, right, strike)
        .map_err(|reason| p.error(D::Strike, reason))?;
    let contracts = quantity.abs();
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: account,
        key: RefKey::Content(None),
        executed_at,
        act: Act::Known(action),
        contract,
        contracts,
        price: price.abs(),
        fees: if action.is_lifecycle() {
            Money::ZERO
        } else {
            fees.abs()
        },
    }))
}

/// `07/07/2021 7:24 PM`, in the exporting computer's zone, which the file does not
/// give: read as New York time.
fn desktop_time(text: &str) -> Result<DateTime<Utc>, String> {
    let (date, time) = text.split_once(' ').ok_or_else(|| {
        format!("`{text}` is not a date and time (expected e.g. 07/07/2021 7:24 PM)")
    })?;
    let date: NaiveDate = values::us_date(date)?;
    let time = values::clock(time)?;
    sheet::in_zone(NaiveDateTime::new(date, time), sheet::NEW_YORK)
}

#[cfg(test)]
mod tests {
    use super::super::FormatName;
    use super::super::tests::{events, parse_text};

    #[test]
    fn the_2024_layout_without_total_reads_a_roll_and_skips_corporate_actions() {
        let text = concat!(
            "Date,Type,Sub Type,Action,Symbol,Instrument Type,Description,Value,Quantity,Average Price,Commissions,Fees,Multiplier,Root Symbol,Underlying Symbol,Expiration Date,Strike Price,Call or Put,Order #,Currency\n",
            "2024-08-16T15:57:13+0200,Trade,Buy to Close,BUY_TO_CLOSE,SCHG  240816C00099000,Equity Option,Bought 1 SCHG 08/16/24 Call 99.00 @ 0.37,-37.00,1,-37.00,-1.00,-0.14,100,SCHG,SCHG,8/16/24,99,CALL,300,USD\n",
            "2024-08-16T15:57:13+0200,Trade,Sell to Open,SELL_TO_OPEN,SCHG  240920C00099000,Equity Option,Sold 1 SCHG 09/20/24 Call 99.00 @ 3.70,370.00,1,370.00,-1.00,-0.14,100,SCHG,SCHG,9/20/24,99,CALL,300,USD\n",
            "2024-06-10T09:00:00+0200,Receive Deliver,Symbol Change,SELL_TO_OPEN,USO1  240920C00080000,Equity Option,Symbol change,0.00,1,0.00,--,0.00,100,USO1,USO,9/20/24,80,CALL,,USD\n",
            "2024-06-10T09:00:00+0200,Receive Deliver,Reverse Split,BUY_TO_CLOSE,USO   240920C00010000,Equity Option,Reverse split,0.00,8,0.00,--,0.00,100,USO,USO,9/20/24,10,CALL,,USD\n",
        );
        let file = parse_text(FormatName::Tastytrade, text, None);
        assert_eq!(
            events(&file),
            [
                "- 2024-08-16T13:57:13Z buy_to_close SCHG 2024-08-16 99.00 call 1 @0.37 fees 1.14",
                "- 2024-08-16T13:57:13Z sell_to_open SCHG 2024-09-20 99.00 call 1 @3.70 fees 1.14",
            ]
        );
        assert_eq!(file.ignored["corporate_action"], 2);
        let refs: Vec<&str> = file
            .executions
            .iter()
            .map(|e| e.broker_ref.as_str())
            .collect();
        assert!(refs.iter().all(|r| r.starts_with("order 300/")), "{refs:?}");
    }

    #[test]
    fn the_2021_layout_reads_lifecycle_rows_from_their_description() {
        let text = concat!(
            "Date,Type,Action,Symbol,Instrument Type,Description,Value,Quantity,Average Price,Commissions,Fees,Multiplier,Underlying Symbol,Expiration Date,Strike Price,Call or Put\n",
            "2021-03-19T15:00:00-0600,Receive Deliver,,SPCE  210319C00042000,Equity Option,Removal of option due to assignment,0,1,0,0,0,100,SPCE,3/19/21,42,CALL\n",
            "2021-03-19T15:00:00-0600,Receive Deliver,SELL_TO_CLOSE,SPCE,Equity,Sell to Close 100 SPCE @ 42.00,4200,100,42,0,-5,,,,,\n",
            "2020-07-02T15:00:00-0600,Receive Deliver,,INO   200702P00021000,Equity Option,Removal of 1 INO 07/02/20 Put 21.00 due to expiration.,0,1,0,0,0,100,INO,7/02/20,21,PUT\n",
            "2021-03-01T09:30:00-0600,Trade,SELL_TO_OPEN,,Equity Option,Sold 1 SPCE 03/19/21 Call 42.00 @ 4.30,430,1,430,-1,-0.15,100,SPCE,3/19/21,42,CALL\n",
        );
        let file = parse_text(FormatName::Tastytrade, text, None);
        assert_eq!(
            events(&file),
            [
                "- 2020-07-02T21:00:00Z expired INO 2020-07-02 21.00 put 1 @0.00 fees 0.00",
                "- 2021-03-01T15:30:00Z sell_to_open SPCE 2021-03-19 42.00 call 1 @4.30 fees 1.15",
                "- 2021-03-19T21:00:00Z assigned SPCE 2021-03-19 42.00 call 1 @0.00 fees 0.00",
            ],
            "a row without its OCC symbol takes the contract columns"
        );
        assert_eq!(file.ignored["stock"], 1);
    }

    #[test]
    fn the_desktop_layout_reads_local_times_and_the_account_reference() {
        let text = concat!(
            "Date/Time,Transaction Code,Transaction Subcode,Symbol,Buy/Sell,Open/Close,Quantity,Expiration Date,Strike,Call/Put,Price,Fees,Amount,Description,Account Reference\n",
            "07/07/2021 7:24 PM,Trade,Buy to Close,CLF,Buy,Close,4,07/23/2021,23,C,0.79,0.54,-316,Bought 4 CLF 07/23/21 Call 23.00 @ 0.79,Individual...60\n",
            "06/18/2021 10:00 PM,Receive Deliver,Expiration,CLNE,,,1,06/18/2021,14,C,,0.00,0,Removal of 1.0 CLNE 06/18/21 Call 14.00 due to expiration.,Individual...60\n",
            "06/18/2021 10:00 PM,Receive Deliver,Sell to Close,BB,Sell,Close,500,,,,9,5.09,4500,Sell to Close 500 BB @ 9.00,Individual...60\n",
            "06/01/2021 9:00 AM,Money Movement,Deposit,,,,,,,,,0,1000,ACH DEPOSIT,Individual...60\n",
        );
        let file = parse_text(FormatName::Tastytrade, text, None);
        assert_eq!(
            events(&file),
            [
                "Individual...60 2021-06-19T02:00:00Z expired CLNE 2021-06-18 14.00 call 1 @0.00 fees 0.00",
                "Individual...60 2021-07-07T23:24:00Z buy_to_close CLF 2021-07-23 23.00 call 4 @0.79 fees 0.54",
            ]
        );
        assert_eq!(file.ignored["stock"], 1);
        assert_eq!(file.ignored["transfer"], 1);
    }

    #[test]
    fn a_price_per_contract_becomes_per_share_whatever_the_multiplier() {
        assert_eq!(
            super::per_share(crate::domain::Money::parse("370.00").unwrap(), 100),
            crate::domain::Money::parse("3.70").unwrap()
        );
        assert_eq!(
            super::per_share(crate::domain::Money::parse("12.345").unwrap(), 100),
            crate::domain::Money::parse("0.1235").unwrap()
        );
        assert_eq!(
            super::per_share(crate::domain::Money::parse("37.00").unwrap(), 10),
            crate::domain::Money::parse("3.70").unwrap()
        );
    }
}
