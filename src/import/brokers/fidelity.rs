//! Fidelity's "Activity & Orders → History" download, one account or all accounts.
//!
//! A byte order mark on an empty first line, blank lines, then `Run Date,Action,Symbol,
//! Description,Type,Price ($),Quantity,Commission ($),Fees ($),…,Amount ($),…` (the
//! all-accounts file adds `Account,Account Number`; older layouts say `Security
//! Description`, and the 2021 one follows a `Brokerage` line). Quoted disclaimers and
//! `Date downloaded …` close it. Dates only; the effective date of an assignment or
//! expiration is inside `Action` (`ASSIGNED as of Jan-24-2025 …`). Options are written
//! ` -MARA250131P20` (root, YYMMDD, C/P, plain strike), quantities are signed, and the
//! action words say open or close (`YOU SOLD OPENING TRANSACTION …`). A cancelled trade
//! (`BUY CANCEL CLOSING TRANSACTION CXL … as of …`) takes the trade it cancels out with
//! it. The single-account file names its account only in the file name
//! (`History_for_Account_X12345678-3.csv`).

use chrono::NaiveDate;

use super::FormatName;
use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser, snippet};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[&["Run Date", "Action", "Symbol", "Quantity"]];

fields!(
    /// The columns read from a Fidelity history.
    F {
        RunDate => ["Run Date"],
        AccountNumber => ["Account Number"],
        Action => ["Action"],
        Symbol => ["Symbol"],
        Price => ["Price ($)", "Price"],
        Quantity => ["Quantity"],
        Commission => ["Commission ($)", "Commission"],
        Fees => ["Fees ($)", "Fees"],
    }
);

const REQUIRED: &[F] = &[F::RunDate, F::Action, F::Symbol, F::Price, F::Quantity];

/// A cancelled trade, to be netted out with the trade it cancels.
struct Cancel {
    broker_account: Option<String>,
    action: ExecAction,
    contract: Contract,
    contracts: i64,
    day: NaiveDate,
    /// The cancelled trade's price, when the row gives it.
    price: Option<Money>,
}

enum Row {
    Outcome(Outcome),
    Cancel(Cancel),
}

pub(super) fn parse(sheet: &Sheet, file_name: Option<&str>) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let account = file_name.and_then(account_in_file_name);
    let mut header: Option<Header<F>> = None;
    let mut cancels = Vec::new();
    for rec in &sheet.records {
        if let Some(h) = rec.header(F::named, REQUIRED) {
            header = Some(h);
            parsed.skip(Skip::Header);
            continue;
        }
        let Some(h) = &header else {
            parsed.skip(Skip::Preamble);
            continue;
        };
        match row(rec, h, account.as_deref()) {
            Ok(Row::Outcome(outcome)) => parsed.take(Ok(outcome)),
            Ok(Row::Cancel(cancel)) => cancels.push(cancel),
            Err(e) => parsed.reject(e),
        }
    }
    if header.is_none() {
        return Err(sheet::no_header(FormatName::Fidelity, SIGNATURES[0]));
    }
    // A cancellation and the trade it cancels both say nothing about what was done.
    for cancel in cancels {
        let original = parsed.drafts.iter().position(|d| {
            d.act == Act::Known(cancel.action)
                && d.broker_account == cancel.broker_account
                && d.contract == cancel.contract
                && d.contracts == cancel.contracts
                && d.executed_at == sheet::at_close(cancel.day)
                && cancel.price.is_none_or(|p| p == d.price)
        });
        if let Some(i) = original {
            parsed.drafts.remove(i);
            parsed.skip(Skip::Correction);
        }
        parsed.skip(Skip::Correction);
    }
    Ok(parsed)
}

fn row(rec: &Rec, header: &Header<F>, account: Option<&str>) -> Result<Row, RowError> {
    let skip = |kind| Ok(Row::Outcome(Outcome::Skip(kind)));
    if rec.is_blank() {
        return skip(Skip::Blank);
    }
    let first = rec.first_text();
    if first.to_ascii_lowercase().starts_with("date downloaded") {
        return skip(Skip::Footer);
    }
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    if rec.filled() <= 1
        && p.text(F::RunDate)
            .is_none_or(|d| values::us_date(d).is_err())
    {
        // The disclaimer is a run of one-cell quoted lines.
        return skip(Skip::Disclaimer);
    }
    let words = p.text(F::Action).unwrap_or_default().to_owned();
    let upper = words.to_ascii_uppercase();
    let symbol = p.text(F::Symbol).unwrap_or_default();
    if !is_option_symbol(symbol) {
        return skip(sheet::kind_of(&words));
    }
    let Some(action) = action(&upper) else {
        // Options moved in or out, fees on them: not trades, and named so.
        if let kind @ (Skip::Transfer | Skip::Fee | Skip::CorporateAction | Skip::Dividend) =
            sheet::kind_of(&words)
        {
            return skip(kind);
        }
        return Err(p.error(
            F::Action,
            format!(
                "`{}` is not a Fidelity option action (expected e.g. YOU SOLD OPENING TRANSACTION, \
                 YOU BOUGHT CLOSING TRANSACTION, ASSIGNED, EXPIRED)",
                snippet(&words)
            ),
        ));
    };
    let as_of = as_of(&words);
    let day = match as_of {
        Some(day) => Some(day),
        None => p.required(F::RunDate, values::us_date),
    };
    let contract = p.required(F::Symbol, contract);
    let quantity = p.required(F::Quantity, values::signed_contracts);
    let cancel = upper.contains("CANCEL");
    let price = if action.is_lifecycle() {
        Some(Money::ZERO)
    } else if cancel {
        Some(
            p.optional(F::Price, values::broker_money)
                .unwrap_or_default(),
        )
    } else {
        p.value(
            F::Price,
            Some(&format!(
                "a price per share is required for {action}, but none was given"
            )),
            values::broker_money,
        )
    };
    let commission = p
        .optional(F::Commission, values::broker_money)
        .unwrap_or_default();
    let fees = p
        .optional(F::Fees, values::broker_money)
        .unwrap_or_default();
    let broker_account = p.text(F::AccountNumber).or(account).map(str::to_owned);
    let (Some(day), Some(contract), Some(quantity), Some(price)) = (day, contract, quantity, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let contracts = quantity.abs();
    if cancel {
        return Ok(Row::Cancel(Cancel {
            broker_account,
            action,
            contract,
            contracts,
            day,
            price: (!price.is_zero()).then(|| price.abs()),
        }));
    }
    Ok(Row::Outcome(Outcome::Event(Draft {
        line: rec.line,
        broker_account,
        key: RefKey::Content(None),
        executed_at: sheet::at_close(day),
        act: Act::Known(action),
        contract,
        contracts,
        price: price.abs(),
        fees: if action.is_lifecycle() {
            Money::ZERO
        } else {
            commission.abs() + fees.abs()
        },
    })))
}

/// What the action words of an option row say (a cancellation names the trade it
/// cancels: `BUY CANCEL CLOSING TRANSACTION` cancels a buy to close).
fn action(upper: &str) -> Option<ExecAction> {
    let starts = |w: &str| upper.trim_start().starts_with(w);
    if starts("ASSIGNED") {
        return Some(ExecAction::Assigned);
    }
    if starts("EXPIRED") {
        return Some(ExecAction::Expired);
    }
    if starts("EXERCISED") || starts("YOU EXERCISED") {
        return Some(ExecAction::Exercised);
    }
    let buy = upper.contains("BOUGHT") || upper.contains("BUY");
    let sell = upper.contains("SOLD") || upper.contains("SELL");
    let opening = upper.contains("OPENING");
    let closing = upper.contains("CLOSING");
    Some(match (buy, sell, opening, closing) {
        (true, false, true, false) => ExecAction::BuyToOpen,
        (true, false, false, true) => ExecAction::BuyToClose,
        (false, true, true, false) => ExecAction::SellToOpen,
        (false, true, false, true) => ExecAction::SellToClose,
        _ => return None,
    })
}

/// The `as of Jan-24-2025` date inside the action words, if any.
fn as_of(words: &str) -> Option<NaiveDate> {
    let lower = words.to_ascii_lowercase();
    let at = lower.find("as of ")?;
    let date = words[at + "as of ".len()..].split_whitespace().next()?;
    values::month_day_year(date).ok()
}

/// ` -MARA250131P20`: a dash, then the OCC fields with a plain strike.
fn is_option_symbol(text: &str) -> bool {
    text.starts_with('-') && contract(text).is_ok()
}

fn contract(text: &str) -> Result<Contract, String> {
    values::occ(text.trim_start_matches('-')).map_err(|_| {
        format!("`{text}` is not a Fidelity option symbol (expected e.g. `-AAPL250117P230`)")
    })
}

/// `History_for_Account_X12345678-3.csv` → `X12345678`.
fn account_in_file_name(name: &str) -> Option<String> {
    const MARK: &str = "history_for_account_";
    let at = name.to_ascii_lowercase().rfind(MARK)? + MARK.len();
    let account: String = name[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!account.is_empty()).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::super::FormatName;
    use super::super::tests::{events, parse_text};

    #[test]
    fn the_all_accounts_layout_takes_each_rows_account_number() {
        let text = concat!(
            "\u{feff}\n\n",
            "Run Date,Account,Account Number,Action,Symbol,Description,Type,Price ($),Quantity,Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n",
            "12/31/2024,\"Individual - TOD\",Z00000002,\"YOU SOLD OPENING TRANSACTION PUT (MARA) MARA HOLDINGS, INC. JAN 31 25 $20 (100 SHS) (Cash)\", -MARA250131P20,\"PUT (MARA) MARA HOLDINGS, INC. JAN 31 25 $20 (100 SHS)\",Cash,4.02,-1,\"\",\"0.04\",\"\",401.96,01/02/2025\n",
            "12/31/2024,\"Rollover IRA\",Z00000003,\"YOU BOUGHT OPENING TRANSACTION CALL (HITI) HIGH TIDE INC DEC 17 21 $7.5 (100 SHS) (Cash)\", -HITI211217C7.5,\"CALL (HITI)\",Cash,.5,2,0.65,\"-0.654\",\"\",\"-101.30\",01/02/2025\n",
        );
        let file = parse_text(FormatName::Fidelity, text, Some("Accounts_History.csv"));
        assert_eq!(
            events(&file),
            [
                "Z00000002 2024-12-31T21:00:00Z sell_to_open MARA 2025-01-31 20.00 put 1 @4.02 fees 0.04",
                "Z00000003 2024-12-31T21:00:00Z buy_to_open HITI 2021-12-17 7.50 call 2 @0.50 fees 1.304",
            ]
        );
        assert_eq!(file.ignored["bom"], 1);
    }

    #[test]
    fn the_older_layout_after_a_brokerage_line_reads_by_name() {
        let text = concat!(
            "Brokerage\n",
            "Run Date,Account,Action,Symbol,Security Description,Security Type,Quantity,Price ($),Commission ($),Fees ($),Accrued Interest ($),Amount ($),Settlement Date\n",
            "03/12/2025,X1,\"EXPIRED CALL (PBI) PITNEY BOWES INC COMDEC 17 21 $9 as of Dec-17-2021 CALL (PBI) PITNEY BOWES INC COM DEC 17 21 $9 (100 SHS) (Cash)\", -PBI211217C9,CALL,Cash,2,,,,0.00,\n",
        );
        let file = parse_text(FormatName::Fidelity, text, None);
        assert_eq!(
            events(&file),
            ["- 2021-12-17T21:00:00Z expired PBI 2021-12-17 9.00 call 2 @0.00 fees 0.00"]
        );
        assert_eq!(file.ignored["preamble"], 1);
    }

    #[test]
    fn a_cancelled_trade_takes_the_trade_it_cancels_with_it() {
        let text = concat!(
            "Run Date,Action,Symbol,Description,Type,Price ($),Quantity,Commission ($),Fees ($),Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date\n",
            "01/03/2025,\"BUY CANCEL CLOSING TRANSACTION CXL DESCRIPTION CANCELLED TRADE as of Jan-02-2025 CALL (INTC) INTEL CORP COM JAN 17 25 $25 (100 SHS) (Cash)\", -INTC250117C25,\"CALL (INTC)\",Cash,0.11,-1,,-0.12,,11.12,Processing,\n",
            "01/02/2025,\"YOU BOUGHT CLOSING TRANSACTION CALL (INTC) INTEL CORP COM JAN 17 25 $25 (100 SHS) (Cash)\", -INTC250117C25,\"CALL (INTC)\",Cash,0.11,1,,0.12,,-11.12,100.00,01/03/2025\n",
            "01/02/2025,\"YOU BOUGHT CLOSING TRANSACTION CALL (INTC) INTEL CORP COM JAN 17 25 $25 (100 SHS) (Cash)\", -INTC250117C25,\"CALL (INTC)\",Cash,0.12,1,,0.12,,-12.12,100.00,01/03/2025\n",
        );
        let file = parse_text(FormatName::Fidelity, text, None);
        assert_eq!(
            events(&file),
            ["- 2025-01-02T21:00:00Z buy_to_close INTC 2025-01-17 25.00 call 1 @0.12 fees 0.12"]
        );
        assert_eq!(file.ignored["correction"], 2);
    }

    #[test]
    fn an_option_row_with_unknown_words_is_rejected_and_a_stock_leg_is_not() {
        let text = concat!(
            "Run Date,Action,Symbol,Description,Type,Price ($),Quantity,Commission ($),Fees ($),Accrued Interest ($),Amount ($),Cash Balance ($),Settlement Date\n",
            "05/07/2024,\"SOMETHING ODD HAPPENED\", -INTC240517P44,\"PUT\",Cash,,1,,,,0.00,,\n",
            "05/07/2024,\"YOU BOUGHT ASSIGNED PUTS AS OF 05-06-24 INTEL CORP COM USD0.001 (INTC) (Cash)\",INTC,\"INTEL\",Cash,44,100,,,,-4400,-1084.60,05/08/2024\n",
            "05/07/2024,\"ASSIGNED as of May-06-2024 PUT (INTC) INTEL CORP COM MAY 17 24 $44 (100 SHS) (Cash)\", -INTC240517P44,\"PUT\",Cash,,1,,,,0.00,-1053.63,\n",
        );
        let file = parse_text(FormatName::Fidelity, text, None);
        assert_eq!(
            events(&file),
            ["- 2024-05-06T20:00:00Z assigned INTC 2024-05-17 44.00 put 1 @0.00 fees 0.00"],
            "an early assignment keeps its as-of date"
        );
        assert_eq!(file.rejected.len(), 1);
        assert_eq!(file.rejected[0].column.as_deref(), Some("Action"));
        assert_eq!(file.ignored["stock"], 1);
    }
}
