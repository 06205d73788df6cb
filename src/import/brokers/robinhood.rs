//! Robinhood's "Account activity" report.
//!
//! `Activity Date,Process Date,Settle Date,Instrument,Description,Trans Code,Quantity,
//! Price,Amount`, every field quoted, newest first, dates only (`M/D/YYYY`), no account.
//! The contract is only in `Description` (`SOFI 11/28/2025 Put $26.00`, `Option
//! Expiration for SOFI 4/17/2025 Put $10.50`); `Trans Code` says what happened (`STO`,
//! `BTC`, `BTO`, `STC`, `OEXP`, `OASGN`, `OEXCS`). There is no fee column: a trade's fees
//! are what its net `Amount` differs from contracts × 100 × price. Expiries of short
//! positions write the quantity as `1S`. The file ends with an empty line and a
//! disclaimer in a tenth column.

use super::FormatName;
use super::sheet::{self, Act, Draft, Outcome, Parsed, Rec, RefKey, Sheet, Skip, fields};
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{Header, RowParser};
use crate::import::values;
use crate::import::{FileError, RowError};

pub(super) const SIGNATURES: &[&[&str]] = &[&[
    "Activity Date",
    "Process Date",
    "Settle Date",
    "Instrument",
    "Description",
    "Trans Code",
    "Quantity",
    "Price",
    "Amount",
]];

fields!(
    /// The columns read from a Robinhood activity report.
    F {
        ActivityDate => ["Activity Date"],
        Description => ["Description"],
        TransCode => ["Trans Code"],
        Quantity => ["Quantity"],
        Price => ["Price"],
        Amount => ["Amount"],
    }
);

const REQUIRED: &[F] = &[
    F::ActivityDate,
    F::Description,
    F::TransCode,
    F::Quantity,
    F::Price,
    F::Amount,
];

/// Shares per contract; the report gives no multiplier.
const SHARES: i64 = 100;

pub(super) fn parse(sheet: &Sheet) -> Result<Parsed, FileError> {
    let mut parsed = Parsed::new(sheet);
    let mut header: Option<Header<F>> = None;
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
        parsed.take(row(rec, h));
    }
    if header.is_none() {
        return Err(sheet::no_header(FormatName::Robinhood, SIGNATURES[0]));
    }
    Ok(parsed)
}

fn row(rec: &Rec, header: &Header<F>) -> Result<Outcome, RowError> {
    if rec.is_blank() {
        return Ok(Outcome::Skip(Skip::Blank));
    }
    let fields = rec.fields(header)?;
    let mut p = RowParser::new(rec.line, &fields);
    let code = p.text(F::TransCode).unwrap_or_default();
    if code.is_empty() && p.is_blank(F::ActivityDate) {
        // The closing disclaimer sits past the last column.
        return Ok(Outcome::Skip(Skip::Disclaimer));
    }
    let Some(action) = action(code) else {
        return Ok(Outcome::Skip(other_kind(
            code,
            p.text(F::Description).unwrap_or_default(),
        )));
    };
    let day = p.required(F::ActivityDate, values::us_date);
    let contract = p.required(F::Description, contract);
    let quantity = p.required(F::Quantity, values::signed_contracts);
    let (price, amount) = if action.is_lifecycle() {
        (Some(Money::ZERO), Money::ZERO)
    } else {
        (
            p.value(
                F::Price,
                Some(&format!(
                    "a price per share is required for {action}, but none was given"
                )),
                values::broker_money,
            ),
            p.optional(F::Amount, values::broker_money)
                .unwrap_or_default(),
        )
    };
    let (Some(day), Some(contract), Some(quantity), Some(price)) = (day, contract, quantity, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let contracts = quantity.abs();
    let price = price.abs();
    // No fee column: the fees are the gap between the gross and the net amount.
    let fees = if action.is_lifecycle() || amount.is_zero() {
        Money::ZERO
    } else {
        (price.times(contracts * SHARES) - amount.abs()).abs()
    };
    Ok(Outcome::Event(Draft {
        line: rec.line,
        broker_account: None,
        key: RefKey::Content(None),
        executed_at: sheet::at_close(day),
        act: Act::Known(action),
        contract,
        contracts,
        price,
        fees,
    }))
}

fn action(code: &str) -> Option<ExecAction> {
    Some(match code.to_ascii_uppercase().as_str() {
        "STO" => ExecAction::SellToOpen,
        "BTC" => ExecAction::BuyToClose,
        "BTO" => ExecAction::BuyToOpen,
        "STC" => ExecAction::SellToClose,
        "OEXP" => ExecAction::Expired,
        "OASGN" => ExecAction::Assigned,
        "OEXCS" => ExecAction::Exercised,
        _ => return None,
    })
}

/// What a row that is not an option event is, by its code (or its words).
fn other_kind(code: &str, description: &str) -> Skip {
    match code.to_ascii_uppercase().as_str() {
        "BUY" | "SELL" => Skip::Stock,
        "CDIV" | "MDIV" | "DIV" | "DRIP" => Skip::Dividend,
        "INT" | "SLIP" | "GDBP" => Skip::Interest,
        "ACH" | "XENT" | "DEP" | "WIRE" | "RTP" | "DCF" | "ICT" | "ITRF" | "JNLC" | "JNLS"
        | "ACATI" | "ACATO" => Skip::Transfer,
        "GOLD" | "GMPC" | "AFEE" | "DFEE" | "DTAX" | "TAX" => Skip::Fee,
        "SPL" | "SPR" | "SXCH" | "MRGS" | "MRGC" => Skip::CorporateAction,
        _ => match sheet::kind_of(description) {
            Skip::Other => sheet::kind_of(code),
            kind => kind,
        },
    }
}

/// `SOFI 11/28/2025 Put $26.00`, possibly after words (`Option Expiration for …`).
fn contract(text: &str) -> Result<Contract, String> {
    let bad =
        || format!("`{text}` does not name an option (expected e.g. `AAPL 1/17/2025 Put $230.00`)");
    let words: Vec<&str> = text.split_whitespace().collect();
    let [root, date, right, strike] = words[words.len().saturating_sub(4)..] else {
        return Err(bad());
    };
    let expiration = values::us_date(date).map_err(|_| bad())?;
    let right = values::right(right).map_err(|_| bad())?;
    let strike = values::broker_money(strike).map_err(|_| bad())?;
    values::contract(root, expiration, right, strike)
}

#[cfg(test)]
mod tests {
    use super::super::FormatName;
    use super::super::tests::{events, parse_text};

    const HEADER: &str = "\"Activity Date\",\"Process Date\",\"Settle Date\",\"Instrument\",\"Description\",\"Trans Code\",\"Quantity\",\"Price\",\"Amount\"\n";

    #[test]
    fn exercises_long_expiries_and_separators_read_right() {
        let text = format!(
            "{HEADER}{}{}{}{}",
            "\"4/17/2025\",\"4/17/2025\",\"4/21/2025\",\"SOFI\",\"Option Expiration for SOFI 4/17/2025 Call $10.50\",\"OEXP\",\"3\",\"\",\"\"\n",
            "\"4/16/2025\",\"4/16/2025\",\"4/17/2025\",\"TSLA\",\"TSLA 4/17/2025 Call $240.00\",\"OEXCS\",\"1\",\"\",\"\"\n",
            "\"4/10/2025\",\"4/10/2025\",\"4/11/2025\",\"SPY\",\"SPY 4/17/2025 Put $474.00\",\"BTO\",\"12\",\"$13.80\",\"($16,560.36)\"\n",
            "\"4/10/2025\",\"4/10/2025\",\"4/11/2025\",\"\",\"Gold Subscription Fee\",\"GOLD\",\"\",\"\",\"($5.00)\"\n",
        );
        let file = parse_text(FormatName::Robinhood, &text, None);
        assert_eq!(
            events(&file),
            [
                "- 2025-04-10T20:00:00Z buy_to_open SPY 2025-04-17 474.00 put 12 @13.80 fees 0.36",
                "- 2025-04-16T20:00:00Z exercised TSLA 2025-04-17 240.00 call 1 @0.00 fees 0.00",
                "- 2025-04-17T20:00:00Z expired SOFI 2025-04-17 10.50 call 3 @0.00 fees 0.00",
            ]
        );
        assert_eq!(file.ignored["fee"], 1);
    }

    #[test]
    fn an_option_row_whose_description_names_no_contract_is_rejected() {
        let text = format!(
            "{HEADER}\"1/6/2025\",\"1/6/2025\",\"1/7/2025\",\"AAPL\",\"AAPL Put\",\"STO\",\"1\",\"$2.15\",\"$214.95\"\n"
        );
        let file = parse_text(FormatName::Robinhood, &text, None);
        let e = &file.rejected[0];
        assert_eq!((e.line, e.column.as_deref()), (2, Some("Description")));
        assert_eq!(
            e.reason,
            "`AAPL Put` does not name an option (expected e.g. `AAPL 1/17/2025 Put $230.00`)"
        );
    }
}
