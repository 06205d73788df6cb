//! Charles Schwab's "History" export, current (2023+) and legacy (≤2022) layouts.
//!
//! `Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount`, all quoted or
//! not, in either order of `Price` and `Quantity`. The legacy layout has a title line
//! naming the account (`Transactions  for account Brokerage XXXX-1234 as of …`) and
//! trailing commas; both may end with `Transactions Total`. Dates only, sometimes
//! `MM/DD/YYYY as of MM/DD/YYYY` (posting, then effective date: the effective one
//! counts). The contract is the `Symbol`: `RKLB 06/13/2025 27.00 P`.

use chrono::NaiveDate;

use super::FormatName;
use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[&[
    "Date",
    "Action",
    "Symbol",
    "Description",
    "Quantity",
    "Price",
    "Fees & Comm",
    "Amount",
]];

fields!(
    /// The columns read from a Schwab history.
    F {
        Date => ["Date"],
        Action => ["Action"],
        Symbol => ["Symbol"],
        Quantity => ["Quantity"],
        Price => ["Price"],
        Fees => ["Fees & Comm", "Fees & Commissions"],
    }
);

const REQUIRED: &[F] = &[F::Date, F::Action, F::Symbol, F::Quantity, F::Price];

pub(super) fn parse(sheet: &Sheet, file_name: Option<&str>) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    // The current layout names the account only in the file's name.
    let mut account = file_name.and_then(account_in_file_name);
    let mut header: Option<Header<F>> = None;
    for rec in &sheet.records {
        if let Some(h) = rec.header(F::named, REQUIRED) {
            header = Some(h);
            parsed.skip(Skip::Header);
            continue;
        }
        let Some(h) = &header else {
            if let Some(a) = account_in_title(&rec.first_text()) {
                account = Some(a);
            }
            parsed.skip(Skip::Preamble);
            continue;
        };
        if rec.is_blank() {
            parsed.skip(Skip::Blank);
        } else if starts_with_words(&rec.first_text(), "Transactions Total") {
            parsed.skip(Skip::Total);
        } else {
            parsed.take(row(rec, h, account.as_deref()));
        }
    }
    if header.is_none() {
        return Err(sheet::no_header(FormatName::Schwab, SIGNATURES[0]));
    }
    Ok(parsed)
}

fn starts_with_words(text: &str, words: &str) -> bool {
    text.get(..words.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(words))
}

fn row(rec: &Rec, header: &Header<F>, account: Option<&str>) -> Result<Outcome, RowError> {
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let action_text = p.text(F::Action).unwrap_or_default();
    let symbol_text = p.text(F::Symbol).unwrap_or_default();
    let Some(action) = action(action_text) else {
        if !is_option_symbol(symbol_text) {
            return Ok(Outcome::Skip(sheet::kind_of(action_text)));
        }
        // TDA → Schwab migration rows move option positions; they are not trades.
        if action_text.to_ascii_lowercase().contains("journal") {
            return Ok(Outcome::Skip(Skip::Transfer));
        }
        return Err(p.error(
            F::Action,
            format!(
                "`{action_text}` is not a Schwab option action (expected Sell to Open, Buy to Close, \
                 Buy to Open, Sell to Close, Expired, Assigned or Exchange or Exercise)"
            ),
        ));
    };
    let day = p.required(F::Date, effective_date);
    let contract = p.required(F::Symbol, contract);
    let quantity = p.required(F::Quantity, values::signed_contracts);
    let price = if action.is_lifecycle() {
        Some(Money::ZERO)
    } else {
        p.value(
            F::Price,
            Some(&format!(
                "a price per share is required for {action}, but none was given"
            )),
            values::broker_money,
        )
    };
    let fees = p
        .optional(F::Fees, values::broker_money)
        .unwrap_or_default();
    let (Some(day), Some(contract), Some(quantity), Some(price)) = (day, contract, quantity, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    // An expired long is written with a negative quantity; the sign is the side.
    let contracts = quantity.abs();
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: account.map(str::to_owned),
        key: RefKey::Content(None),
        executed_at: sheet::at_close(day),
        act: Act::Known(action),
        contract,
        contracts,
        price: price.abs(),
        fees: fees.abs(),
    }))
}

fn action(text: &str) -> Option<ExecAction> {
    Some(match text.to_ascii_lowercase().as_str() {
        "sell to open" => ExecAction::SellToOpen,
        "buy to close" => ExecAction::BuyToClose,
        "buy to open" => ExecAction::BuyToOpen,
        "sell to close" => ExecAction::SellToClose,
        "expired" => ExecAction::Expired,
        "assigned" => ExecAction::Assigned,
        "exchange or exercise" | "exercise" | "exercised" => ExecAction::Exercised,
        _ => return None,
    })
}

/// `01/27/2025` or `01/27/2025 as of 01/24/2025`: the effective date is the last.
fn effective_date(text: &str) -> Result<NaiveDate, String> {
    let lower = text.to_ascii_lowercase();
    let effective = match lower.find(" as of ") {
        Some(i) => &text[i + " as of ".len()..],
        None => text,
    };
    values::us_date(effective.trim())
}

/// An option symbol has four words with a date second: `RKLB 06/13/2025 27.00 P`.
fn is_option_symbol(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.len() == 4 && words[1].contains('/')
}

fn contract(text: &str) -> Result<Contract, String> {
    let bad = || {
        format!("`{text}` is not a Schwab option symbol (expected e.g. `AAPL 01/17/2025 230.00 P`)")
    };
    let [root, date, strike, right] = text.split_whitespace().collect::<Vec<_>>()[..] else {
        return Err(bad());
    };
    let expiration = values::us_date(date).map_err(|_| bad())?;
    let right = values::right(right).map_err(|_| bad())?;
    let strike = values::broker_money(strike).map_err(|_| bad())?;
    values::contract(root, expiration, right, strike)
}

/// `Individual_XXX000_Transactions_20250309-115444.csv` → `XXX000`.
fn account_in_file_name(name: &str) -> Option<String> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let words: Vec<&str> = name.split('_').collect();
    let at = words
        .iter()
        .position(|w| w.eq_ignore_ascii_case("Transactions"))?;
    let account = words.get(at.checked_sub(1)?)?;
    account
        .bytes()
        .any(|b| b.is_ascii_digit())
        .then(|| (*account).to_owned())
}

/// `Transactions  for account Brokerage XXXX-1234 as of 11/15/2020 18:00:21 ET` →
/// `XXXX-1234`.
fn account_in_title(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    if !lower.starts_with("transactions") || !lower.contains("for account") {
        return None;
    }
    let end = lower.find(" as of ").unwrap_or(text.len());
    text[..end].split_whitespace().last().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, parse_text};
    use super::super::{FormatName, detect};
    use crate::domain::ExecAction;

    #[test]
    fn the_legacy_layout_takes_the_account_from_its_title_and_skips_its_total() {
        let text = concat!(
            "\"Transactions  for account Brokerage XXXX-1234 as of 11/15/2020 18:00:21 ET\"\n",
            "\"Date\",\"Action\",\"Symbol\",\"Description\",\"Quantity\",\"Price\",\"Fees & Comm\",\"Amount\",\n",
            "\"03/17/2020\",\"Buy to Open\",\"SMAL 04/01/2020 32.00 P\",\"PUT SMALL CAP INDEX $32 EXP 04/01/20\",\"1\",\"$12.53\",\"$0.65\",\"-$1253.65\",\n",
            "\"03/18/2020\",\"Sell to Close\",\"SMAL 04/01/2020 32.00 P\",\"PUT SMALL CAP INDEX $32 EXP 04/01/20\",1,\"$13.00\",\"$0.65\",\"$1299.35\"\n",
            "Transactions Total,\"\",\"\",\"\",\"\",\"\",\"\",$0.00\n",
        );
        assert_eq!(detect(text.as_bytes()), Ok(FormatName::Schwab));
        let file = parse_text(FormatName::Schwab, text, None);
        assert_eq!(
            events(&file),
            [
                "XXXX-1234 2020-03-17T20:00:00Z buy_to_open SMAL 2020-04-01 32.00 put 1 @12.53 fees 0.65",
                "XXXX-1234 2020-03-18T20:00:00Z sell_to_close SMAL 2020-04-01 32.00 put 1 @13.00 fees 0.65",
            ]
        );
        assert_eq!(file.ignored["preamble"], 1);
        assert_eq!(file.ignored["total"], 1);
        assert!(file.rejected.is_empty(), "{:?}", file.rejected);
    }

    #[test]
    fn columns_are_found_by_name_when_price_and_quantity_swap() {
        let text = concat!(
            "Date,Action,Symbol,Description,Price,Quantity,Fees & Comm,Amount\n",
            "06/02/2025,Sell to Open,RKLB 06/13/2025 27.00 P,PUT ROCKET LAB CORP $27 EXP 06/13/25,$0.93 ,\"1,000\",$650.00,\"$929,350.00\"\n",
        );
        let file = parse_text(FormatName::Schwab, text, None);
        assert_eq!(
            events(&file),
            [
                "- 2025-06-02T20:00:00Z sell_to_open RKLB 2025-06-13 27.00 put 1000 @0.93 fees 650.00"
            ]
        );
    }

    #[test]
    fn an_expired_long_exercise_and_journal_rows_read_as_what_they_are() {
        let text = concat!(
            "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n",
            "07/07/2025 as of 07/03/2025,Expired,DELL 07/03/2025 125.00 C,CALL DELL TECHNOLOGIES I$125 EXP 07/03/25,-1,,,\n",
            "07/07/2025,Exchange or Exercise,DELL 07/03/2025 120.00 C,CALL DELL,1,,,\n",
            "07/07/2025,Journaled Shares,DELL 07/03/2025 110.00 C,TDA TRAN - REMOVAL OF OPTION DUE TO EXPIRATION,1,,,\n",
            "07/07/2025,Sell Short,DELL,DELL TECHNOLOGIES,100,$120.00,$0.01,$11999.99\n",
            "07/08/2025,Qualified Dividend,DELL,DELL TECHNOLOGIES,,,,$12.00\n",
        );
        let file = parse_text(
            FormatName::Schwab,
            text,
            Some("Individual_XXX000_Transactions_20250709-115444.csv"),
        );
        let actions: Vec<(ExecAction, i64, String)> = file
            .executions
            .iter()
            .map(|e| (e.action, e.contracts, e.executed_at.to_rfc3339()))
            .collect();
        assert_eq!(
            actions,
            [
                (
                    ExecAction::Expired,
                    1,
                    "2025-07-03T20:00:00+00:00".to_owned()
                ),
                (
                    ExecAction::Exercised,
                    1,
                    "2025-07-03T20:00:00+00:00".to_owned()
                ),
            ],
            "an exercise posted after expiry is dated at the expiration"
        );
        assert_eq!(file.executions[0].broker_account.as_deref(), Some("XXX000"));
        assert_eq!(file.ignored["transfer"], 1);
        assert_eq!(file.ignored["stock"], 1);
        assert_eq!(file.ignored["dividend"], 1);
    }

    #[test]
    fn a_bad_option_row_is_rejected_with_its_line_and_column_and_the_rest_kept() {
        let text = concat!(
            "Date,Action,Symbol,Description,Quantity,Price,Fees & Comm,Amount\n",
            "01/06/2025,Sell to Open,AAPL 01/17/2025 230.00 P,PUT,1,,$0.66,$214.34\n",
            "01/06/2025,Sell to Open,AAPL 13/17/2025 230.00 P,PUT,1,$2.15,$0.66,$214.34\n",
            "01/06/2025,Roll Over,AAPL 01/17/2025 230.00 P,PUT,1,$2.15,$0.66,$214.34\n",
            "01/06/2025,Sell to Open,AAPL 01/17/2025 230.00 P,PUT,1,$2.15,$0.66,$214.34\n",
        );
        let file = parse_text(FormatName::Schwab, text, None);
        assert_eq!(file.executions.len(), 1);
        let errors: Vec<(u64, Option<&str>, &str)> = file
            .rejected
            .iter()
            .map(|e| (e.line, e.column.as_deref(), e.reason.as_str()))
            .collect();
        assert_eq!(
            errors,
            [
                (
                    2,
                    Some("Price"),
                    "a price per share is required for sell_to_open, but none was given"
                ),
                (
                    3,
                    Some("Symbol"),
                    "`AAPL 13/17/2025 230.00 P` is not a Schwab option symbol (expected e.g. `AAPL 01/17/2025 230.00 P`)"
                ),
                (
                    4,
                    Some("Action"),
                    "`Roll Over` is not a Schwab option action (expected Sell to Open, Buy to Close, Buy to Open, Sell to Close, Expired, Assigned or Exchange or Exercise)"
                ),
            ]
        );
    }

    #[test]
    fn a_file_without_the_header_is_a_file_error_naming_the_columns() {
        let e = super::super::parse(
            FormatName::Schwab,
            b"Date,Action\n1,2\n",
            None,
            &Default::default(),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the file has no schwab header row (expected the columns Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount)"
        );
    }
}
