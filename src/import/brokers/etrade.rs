//! E*TRADE (Morgan Stanley) transaction history, legacy and 2025 layouts.
//!
//! No real file was available: both layouts follow what several unrelated parsers agree
//! on (FORMATS.md §8), so this module is the least proven.
//!
//! - Legacy `DownloadTxnHistory.csv`: `For Account:,#####3333`, then
//!   `TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,Price,
//!   Commission,Description`; options are `SecurityType` `OPTN`, written
//!   `COF Mar 21 '25 $210 Call`.
//! - 2025 "All Transactions": `All Transactions Activity Types`, `Account Activity for
//!   <name> -3758 from …`, `Total:,…`, then `Activity/Trade Date,Transaction Date,
//!   Settlement Date,Activity Type,Description,Symbol,Cusip,Quantity #,Price $,Amount $,
//!   Commission,Category,Note`, options described fixed-width as
//!   `PUT  IWM    02/27/26   260.000`, `--` for empty, and `Disclaimer` rows at the end.
//!
//! Dates only (`MM/DD/YY`); `Sold Short` opens, `Bought To Cover` closes, `Option
//! Assigned` / `Option Expired` end a position; a bare `Bought`/`Sold` of an option
//! leaves open or close to the running position.

use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use super::{BuySell, FormatName};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[
    &[
        "TransactionDate",
        "TransactionType",
        "SecurityType",
        "Symbol",
        "Quantity",
        "Amount",
        "Price",
        "Commission",
        "Description",
    ],
    &[
        "Activity/Trade Date",
        "Transaction Date",
        "Settlement Date",
        "Activity Type",
        "Description",
        "Symbol",
        "Quantity #",
        "Price $",
        "Amount $",
    ],
];

fields!(
    /// The columns read from either layout.
    F {
        Date => ["TransactionDate", "Activity/Trade Date"],
        Type => ["TransactionType", "Activity Type"],
        SecurityType => ["SecurityType"],
        Symbol => ["Symbol"],
        Description => ["Description"],
        Quantity => ["Quantity", "Quantity #"],
        Price => ["Price", "Price $"],
        Commission => ["Commission"],
    }
);

const REQUIRED: &[F] = &[
    F::Date,
    F::Type,
    F::Symbol,
    F::Description,
    F::Quantity,
    F::Price,
];

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let mut account: Option<String> = None;
    let mut header: Option<Header<F>> = None;
    for rec in &sheet.records {
        if let Some(h) = rec.header(F::named, REQUIRED) {
            header = Some(h);
            parsed.skip(Skip::Header);
            continue;
        }
        let first = rec.first_text();
        let lower = first.to_ascii_lowercase();
        if lower.starts_with("total") {
            parsed.skip(Skip::Total);
            continue;
        }
        if lower.starts_with("disclaimer") {
            parsed.skip(Skip::Disclaimer);
            continue;
        }
        let Some(h) = &header else {
            if let Some(a) = account_in_preamble(rec) {
                account = Some(a);
            }
            parsed.skip(Skip::Preamble);
            continue;
        };
        if rec.is_blank() {
            parsed.skip(Skip::Blank);
        } else if rec.filled() == 1 {
            // Notes and disclaimers after the rows are one long cell.
            parsed.skip(Skip::Disclaimer);
        } else {
            parsed.take(row(rec, h, account.as_deref()));
        }
    }
    if header.is_none() {
        return Err(sheet::no_header(FormatName::Etrade, SIGNATURES[1]));
    }
    Ok(parsed)
}

/// `For Account:,#####3333` or `Account Activity for <name> -3758 from Current Year`.
fn account_in_preamble(rec: &Rec) -> Option<String> {
    let first = rec.first_text();
    if first.eq_ignore_ascii_case("For Account:") {
        let account = rec.cell(1);
        return (!account.is_empty()).then(|| account.into_owned());
    }
    let lower = first.to_ascii_lowercase();
    if !lower.starts_with("account activity for") {
        return None;
    }
    let end = lower.find(" from ").unwrap_or(first.len());
    first[..end]
        .split_whitespace()
        .rev()
        .find(|w| w.starts_with('-') && w[1..].bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

fn row(rec: &Rec, header: &Header<F>, account: Option<&str>) -> Result<Outcome, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let kind = p.text(F::Type).unwrap_or_default().to_owned();
    let security = p
        .text(F::SecurityType)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let contract = [p.text(F::Symbol), p.text(F::Description)]
        .into_iter()
        .flatten()
        .find_map(contract);
    let Some(contract) = contract else {
        if security == "OPTN" {
            return Err(p.error(
                F::Symbol,
                format!(
                    "`{}` does not name an option (expected e.g. `AAPL Jan 17 '25 $230 Put`)",
                    p.text(F::Symbol).unwrap_or_default()
                ),
            ));
        }
        return Ok(Outcome::Skip(sheet::kind_of(&kind)));
    };
    let Some(act) = act(&kind) else {
        return match sheet::kind_of(&kind) {
            Skip::Stock | Skip::Other => Err(p.error(
                F::Type,
                format!(
                    "`{kind}` is not an E*TRADE option activity (expected e.g. Sold Short, \
                     Bought To Cover, Bought To Open, Sold To Close, Option Assigned, Option \
                     Expired)"
                ),
            )),
            other => Ok(Outcome::Skip(other)),
        };
    };
    let lifecycle = matches!(act, Act::Known(a) if a.is_lifecycle());
    let day = p.required(F::Date, values::us_date);
    let quantity = p.required(F::Quantity, values::signed_contracts);
    let price = if lifecycle {
        Some(Money::ZERO)
    } else {
        p.required(F::Price, values::broker_money)
    };
    let commission = p
        .optional(F::Commission, |s| {
            if s == "--" {
                Ok(Money::ZERO)
            } else {
                values::broker_money(s)
            }
        })
        .unwrap_or_default();
    let (Some(day), Some(quantity), Some(price)) = (day, quantity, price) else {
        return Err(p.take_error());
    };
    p.check()?;
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: account.map(str::to_owned),
        key: RefKey::Content(None),
        executed_at: sheet::at_close(day),
        act,
        contract,
        contracts: quantity.abs(),
        price: price.abs(),
        fees: if lifecycle {
            Money::ZERO
        } else {
            commission.abs()
        },
    }))
}

fn act(kind: &str) -> Option<Act> {
    Some(Act::Known(match kind.to_ascii_lowercase().trim() {
        "sold short" | "sell short" | "sold to open" | "sell to open" => ExecAction::SellToOpen,
        "bought to cover" | "bought to close" | "buy to cover" | "buy to close" => {
            ExecAction::BuyToClose
        }
        "bought to open" | "buy to open" => ExecAction::BuyToOpen,
        "sold to close" | "sell to close" => ExecAction::SellToClose,
        "option assigned" | "assigned" | "assignment" => ExecAction::Assigned,
        "option expired" | "expired" | "expiration" => ExecAction::Expired,
        "option exercised" | "exercised" | "exercise" => ExecAction::Exercised,
        "bought" | "buy" => return Some(Act::Side(BuySell::Buy)),
        "sold" | "sell" => return Some(Act::Side(BuySell::Sell)),
        _ => return None,
    }))
}

/// `COF Mar 21 '25 $210 Call` or `PUT  IWM    02/27/26   260.000`.
fn contract(text: &str) -> Option<Contract> {
    let words: Vec<&str> = text.split_whitespace().collect();
    match words[..] {
        [root, month, day, year, strike, right] => {
            let expiration = values::month_day_year(&format!("{month} {day} {year}")).ok()?;
            let strike = values::broker_money(strike).ok()?;
            let right = values::right(right).ok()?;
            values::contract(root, expiration, right, strike).ok()
        }
        [right, root, date, strike] => {
            let right = values::right(right).ok()?;
            let expiration = values::us_date(date).ok()?;
            let strike = values::broker_money(strike).ok()?;
            values::contract(root, expiration, right, strike).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, parse_text};
    use super::super::{FormatName, detect};

    #[test]
    fn the_legacy_download_reads_its_account_and_option_rows() {
        let text = concat!(
            "For Account:,#####3333\n",
            "\n",
            "TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,Price,Commission,Description\n",
            "\n",
            "03/21/25,Option Expired,OPTN,COF Mar 21 '25 $210 Call,1,0,0,0,COF Mar 21 '25 $210 Call\n",
            "11/18/24,Bought To Cover,OPTN,COF Mar 21 '25 $200 Call,1,-300.69,3.00,0.69,COF Mar 21 '25 $200 Call\n",
            "11/15/24,Sold Short,OPTN,COF Mar 21 '25 $210 Call,-1,506.31,5.07,0.69,COF Mar 21 '25 $210 Call\n",
            "11/14/24,Bought,EQ,COF,100,-17000,170,0,CAPITAL ONE FINANCIAL\n",
            "11/01/24,Dividend,EQ,COF,0,60,0,0,CAPITAL ONE FINANCIAL\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Etrade));
        let file = parse_text(FormatName::Etrade, text, None);
        assert_eq!(
            events(&file),
            [
                "#####3333 2024-11-15T21:00:00Z sell_to_open COF 2025-03-21 210.00 call 1 @5.07 fees 0.69",
                "#####3333 2024-11-18T21:00:00Z buy_to_close COF 2025-03-21 200.00 call 1 @3.00 fees 0.69",
                "#####3333 2025-03-21T20:00:00Z expired COF 2025-03-21 210.00 call 1 @0.00 fees 0.00",
            ]
        );
        assert_eq!(file.ignored["stock"], 1);
        assert_eq!(file.ignored["dividend"], 1);
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
    }

    #[test]
    fn the_2025_layout_reads_fixed_width_contracts_and_skips_totals_and_disclaimers() {
        let text = concat!(
            "All Transactions Activity Types\n",
            "\n",
            "Account Activity for Test Trader -3758 from Current Year\n",
            "\n",
            "Total:,-18247.05\n",
            "\n",
            "Activity/Trade Date,Transaction Date,Settlement Date,Activity Type,Description,Symbol,Cusip,Quantity #,Price $,Amount $,Commission,Category,Note\n",
            "02/18/26,02/18/26,02/19/26,Sold Short,PUT  IWM    02/27/26   260.000,IWM,--,-1.0,2.13,212.49,0.51,--,--\n",
            "02/27/26,02/27/26,02/27/26,Option Assigned,PUT  IWM    02/27/26   260.000,IWM,--,1.0,--,0,--,--,--\n",
            "02/27/26,02/27/26,03/02/26,Bought,IWM,IWM,--,100,260,-26000,--,--,--\n",
            "\"Disclaimer: the information is provided for informational purposes only.\"\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Etrade));
        let file = parse_text(FormatName::Etrade, text, None);
        assert_eq!(
            events(&file),
            [
                "-3758 2026-02-18T21:00:00Z sell_to_open IWM 2026-02-27 260.00 put 1 @2.13 fees 0.51",
                "-3758 2026-02-27T21:00:00Z assigned IWM 2026-02-27 260.00 put 1 @0.00 fees 0.00",
            ]
        );
        assert_eq!(file.ignored["total"], 1);
        assert_eq!(file.ignored["disclaimer"], 1);
        assert_eq!(file.ignored["stock"], 1);
    }
}
