//! The generic import format (SPEC §10): CSV with a header row, or JSON Lines with the
//! same keys.
//!
//! Both layouts come down to the same thing (see `reading`): for each row, the
//! cells of the columns this kind of file knows, each with its position in the row. This
//! module maps those cells to domain values with the shared parsers of
//! `values`, so a value means the same in either layout and a bad value gets
//! the same sentence.

use std::io::Read;

use super::reading::{self, Column, Fields, Framing, Header, RowParser, other_delimiter};
use super::values::{
    self, account, contracts, date, money, not_negative, number_between, occ, positive, text,
    timestamp,
};
use super::{FileError, ImportKind, ParsedRow, Record, RowError};
use crate::domain::{
    Contract, ExecAction, Execution, Money, PriceClose, RecAction, RecContext, Recommendation,
};

/// Streams the rows of a generic file; see [`super::read_rows`].
pub fn read_rows<R: Read + 'static>(
    kind: ImportKind,
    input: R,
) -> Result<Box<dyn Iterator<Item = ParsedRow>>, FileError> {
    match reading::open(input)? {
        Framing::JsonLines(lines) => Ok(Box::new(JsonRows { kind, lines })),
        Framing::Csv(mut reader) => {
            let mut record = csv::ByteRecord::new();
            reader.read_header(&mut record)?;
            let header = header(kind, &reading::header_names(&record)?)?;
            Ok(Box::new(CsvRows {
                kind,
                reader,
                header,
                record,
            }))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Columns

/// Every column any generic file knows. `symbol` is an OCC symbol in executions and a
/// ticker in prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    ExternalId,
    Account,
    CreatedAt,
    Action,
    Underlying,
    Right,
    Strike,
    Expiration,
    Contracts,
    Premium,
    UnderlyingPrice,
    Delta,
    Iv,
    IvRank,
    EarningsDate,
    AlgorithmVersion,
    Rationale,
    Position,
    BrokerRef,
    ExecutedAt,
    Price,
    Fees,
    Broker,
    Symbol,
    Date,
    Close,
}

const COLUMN_COUNT: usize = Col::Close as usize + 1;

const RECOMMENDATION_COLUMNS: &[Col] = &[
    Col::ExternalId,
    Col::Account,
    Col::CreatedAt,
    Col::Action,
    Col::Underlying,
    Col::Right,
    Col::Strike,
    Col::Expiration,
    Col::Contracts,
    Col::Premium,
    Col::UnderlyingPrice,
    Col::Delta,
    Col::Iv,
    Col::IvRank,
    Col::EarningsDate,
    Col::AlgorithmVersion,
    Col::Rationale,
    Col::Position,
];

const EXECUTION_COLUMNS: &[Col] = &[
    Col::BrokerRef,
    Col::Account,
    Col::ExecutedAt,
    Col::Action,
    Col::Underlying,
    Col::Right,
    Col::Strike,
    Col::Expiration,
    Col::Symbol,
    Col::Contracts,
    Col::Price,
    Col::Fees,
    Col::Broker,
];

const PRICE_COLUMNS: &[Col] = &[Col::Symbol, Col::Date, Col::Close];

/// The four columns that name a contract when no OCC symbol does.
const CONTRACT_COLUMNS: [Col; 4] = [Col::Underlying, Col::Right, Col::Strike, Col::Expiration];

impl Col {
    fn name(self) -> &'static str {
        match self {
            Col::ExternalId => "external_id",
            Col::Account => "account",
            Col::CreatedAt => "created_at",
            Col::Action => "action",
            Col::Underlying => "underlying",
            Col::Right => "right",
            Col::Strike => "strike",
            Col::Expiration => "expiration",
            Col::Contracts => "contracts",
            Col::Premium => "premium",
            Col::UnderlyingPrice => "underlying_price",
            Col::Delta => "delta",
            Col::Iv => "iv",
            Col::IvRank => "iv_rank",
            Col::EarningsDate => "earnings_date",
            Col::AlgorithmVersion => "algorithm_version",
            Col::Rationale => "rationale",
            Col::Position => "position",
            Col::BrokerRef => "broker_ref",
            Col::ExecutedAt => "executed_at",
            Col::Price => "price",
            Col::Fees => "fees",
            Col::Broker => "broker",
            Col::Symbol => "symbol",
            Col::Date => "date",
            Col::Close => "close",
        }
    }

    /// The columns a kind of file reads; any other column is ignored.
    fn known(kind: ImportKind) -> &'static [Col] {
        match kind {
            ImportKind::Recommendations => RECOMMENDATION_COLUMNS,
            ImportKind::Executions => EXECUTION_COLUMNS,
            ImportKind::Prices => PRICE_COLUMNS,
        }
    }

    /// Columns the header must have. Executions also need a contract: `symbol`, or all
    /// of [`CONTRACT_COLUMNS`].
    fn required(kind: ImportKind) -> &'static [Col] {
        match kind {
            ImportKind::Recommendations => &RECOMMENDATION_COLUMNS[..10],
            ImportKind::Executions => &[
                Col::BrokerRef,
                Col::Account,
                Col::ExecutedAt,
                Col::Action,
                Col::Contracts,
                Col::Price,
            ],
            ImportKind::Prices => PRICE_COLUMNS,
        }
    }

    /// The column a header name or JSON key means, trimmed and case-insensitive.
    fn named(kind: ImportKind, name: &str) -> Option<Col> {
        let name = name.trim().to_lowercase();
        Col::known(kind).iter().copied().find(|c| c.name() == name)
    }
}

impl Column for Col {
    const COUNT: usize = COLUMN_COUNT;

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        Col::name(self)
    }
}

/// Where each known column sits in a CSV header, with every column the kind requires.
fn header(kind: ImportKind, names: &[&str]) -> Result<Header<Col>, FileError> {
    let header = Header::new(names.iter().copied(), |name| Col::named(kind, name))
        .map_err(|col| FileError::DuplicateColumn { column: col.name() })?;
    if let Some(col) = Col::required(kind).iter().find(|c| !header.has(**c)) {
        if let Some(delimiter) = other_delimiter(names, |name| Col::named(kind, name).is_some()) {
            return Err(FileError::Delimiter { delimiter });
        }
        return Err(FileError::MissingColumn {
            column: col.name(),
            kind,
        });
    }
    if kind == ImportKind::Executions
        && !header.has(Col::Symbol)
        && let Some(col) = CONTRACT_COLUMNS.iter().find(|c| !header.has(**c))
    {
        return Err(FileError::MissingContractColumn { column: col.name() });
    }
    Ok(header)
}

// ---------------------------------------------------------------------------------------
// Rows

struct CsvRows<R: Read> {
    kind: ImportKind,
    reader: reading::CsvRecords<R>,
    header: Header<Col>,
    record: csv::ByteRecord,
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = ParsedRow;

    fn next(&mut self) -> Option<ParsedRow> {
        loop {
            let line = match self.reader.next_record(&mut self.record)? {
                Ok(line) => line,
                Err(e) => {
                    return Some(ParsedRow {
                        line: e.line,
                        result: Err(e),
                    });
                }
            };
            // Spreadsheets leave rows of empty cells at the end; they say nothing.
            if reading::is_empty_record(&self.record) {
                continue;
            }
            let result = self
                .header
                .check_width(&self.record, line)
                .and_then(|()| self.header.fields(&self.record, line))
                .and_then(|fields| parse_fields(self.kind, line, &fields));
            return Some(ParsedRow { line, result });
        }
    }
}

struct JsonRows<R: Read> {
    kind: ImportKind,
    lines: reading::JsonLines<R>,
}

impl<R: Read> Iterator for JsonRows<R> {
    type Item = ParsedRow;

    fn next(&mut self) -> Option<ParsedRow> {
        let kind = self.kind;
        match self.lines.next_line()? {
            Ok((line, bytes)) => {
                let result = reading::json_fields(line, bytes, |key| Col::named(kind, key))
                    .and_then(|fields| parse_fields(kind, line, &fields));
                Some(ParsedRow { line, result })
            }
            Err(e) => Some(ParsedRow {
                line: e.line,
                result: Err(e),
            }),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Cells into domain values

fn parse_fields(kind: ImportKind, line: u64, fields: &Fields<'_, Col>) -> Result<Record, RowError> {
    let mut p = RowParser::new(line, fields);
    match kind {
        ImportKind::Recommendations => recommendation(&mut p).map(Record::Recommendation),
        ImportKind::Executions => execution(&mut p).map(Record::Execution),
        ImportKind::Prices => price(&mut p).map(Record::Price),
    }
}

fn recommendation(p: &mut RowParser<'_, '_, Col>) -> Result<Recommendation, RowError> {
    let external_id = p.required(Col::ExternalId, values::key);
    let account = p.required(Col::Account, account);
    let created_at = p.required(Col::CreatedAt, timestamp);
    let action = p.required(Col::Action, |s| {
        s.parse::<RecAction>().map_err(|e| e.to_string())
    });
    let underlying = p.required(Col::Underlying, values::root);
    let right = p.required(Col::Right, values::right);
    let strike = p.required(Col::Strike, values::strike);
    let expiration = p.required(Col::Expiration, date);
    let contracts = p.required(Col::Contracts, contracts);
    // A roll's premium is its net credit per share, which may be a debit (negative).
    let premium = if action == Some(RecAction::Roll) {
        p.required(Col::Premium, money)
    } else {
        p.required(Col::Premium, |s| not_negative(s, "premium"))
    };
    let context = RecContext {
        underlying_price: p.optional(Col::UnderlyingPrice, |s| positive(s, "underlying price")),
        delta: p.optional(Col::Delta, |s| {
            number_between(s, "a delta between -1 and 1", -1.0, 1.0)
        }),
        iv: p.optional(Col::Iv, |s| {
            number_between(s, "an implied volatility of 0 or more", 0.0, f64::INFINITY)
        }),
        iv_rank: p.optional(Col::IvRank, |s| {
            number_between(s, "an IV rank between 0 and 100", 0.0, 100.0)
        }),
        earnings_date: p.optional(Col::EarningsDate, date),
        algorithm_version: p.optional(Col::AlgorithmVersion, text),
        rationale: p.optional(Col::Rationale, text),
    };
    let position = match action {
        Some(RecAction::SellToOpen) => {
            if let Some(given) = p.text(Col::Position) {
                p.fail(
                    Col::Position,
                    format!(
                        "`{given}` is given, but a sell_to_open opens a new position (leave position empty)"
                    ),
                );
            }
            None
        }
        Some(RecAction::Roll) => p.value(
            Col::Position,
            Some("a roll needs the OCC symbol of the contract it closes, but none was given"),
            occ,
        ),
        Some(RecAction::BuyToClose) | None => p.optional(Col::Position, occ),
    };
    let (
        Some(external_id),
        Some(account),
        Some(created_at),
        Some(action),
        Some(underlying),
        Some(right),
        Some(strike),
        Some(expiration),
        Some(contracts),
        Some(premium),
    ) = (
        external_id,
        account,
        created_at,
        action,
        underlying,
        right,
        strike,
        expiration,
        contracts,
        premium,
    )
    else {
        return Err(p.take_error());
    };
    p.check()?;
    values::row_value(premium, contracts).map_err(|e| p.error(Col::Premium, e))?;
    if expiration < values::exchange_day(created_at) {
        return Err(p.error(
            Col::Expiration,
            format!(
                "`{expiration}` is before the recommendation was made ({}); an option cannot be recommended after it expired",
                values::exchange_day(created_at)
            ),
        ));
    }
    let contract = Contract::new(underlying, expiration, right, strike)
        .map_err(|e| p.error(Col::Strike, e.to_string()))?;
    let given = p.text(Col::Position).unwrap_or_default();
    let position = match (action, position) {
        (RecAction::SellToOpen, _) => None,
        (RecAction::BuyToClose, Some(position)) if position != contract => {
            return Err(p.error(
                Col::Position,
                format!(
                    "`{given}` is {}, but the contract columns say {} (a buy_to_close closes the contract it names)",
                    position.describe(),
                    contract.describe()
                ),
            ));
        }
        (RecAction::BuyToClose, _) => Some(contract.clone()),
        (RecAction::Roll, Some(position)) if position == contract => {
            return Err(p.error(
                Col::Position,
                format!(
                    "`{given}` is the contract the roll opens ({}); a roll closes one contract and opens another",
                    contract.describe()
                ),
            ));
        }
        (RecAction::Roll, Some(position)) => Some(position),
        (RecAction::Roll, None) => return Err(p.take_error()),
    };
    Ok(Recommendation {
        account,
        external_id,
        created_at,
        action,
        contract,
        contracts,
        premium,
        position,
        context,
    })
}

fn execution(p: &mut RowParser<'_, '_, Col>) -> Result<Execution, RowError> {
    let broker_ref = p.required(Col::BrokerRef, values::key);
    let account = p.required(Col::Account, account);
    let executed_at = p.required(Col::ExecutedAt, timestamp);
    let action = p.required(Col::Action, |s| {
        s.parse::<ExecAction>().map_err(|e| e.to_string())
    });
    // The contract: an OCC symbol, or the four columns; both when they agree.
    let by_symbol = !p.is_blank(Col::Symbol);
    let symbol = p.optional(Col::Symbol, occ);
    let missing = (!by_symbol)
        .then_some("a value is required unless `symbol` gives the OCC symbol, but none was given");
    let underlying = p.value(Col::Underlying, missing, values::root);
    let right = p.value(Col::Right, missing, values::right);
    let strike = p.value(Col::Strike, missing, values::strike);
    let expiration = p.value(Col::Expiration, missing, date);
    let contracts = p.required(Col::Contracts, contracts);
    let price = match action {
        Some(a) if a.is_lifecycle() => Some(
            p.optional(Col::Price, |s| not_negative(s, "price"))
                .unwrap_or(Money::ZERO),
        ),
        Some(a) => p.value(
            Col::Price,
            Some(&format!(
                "a price per share is required for {a}, but none was given"
            )),
            |s| not_negative(s, "price"),
        ),
        None => p.optional(Col::Price, |s| not_negative(s, "price")),
    };
    let fees = p
        .optional(Col::Fees, |s| not_negative(s, "fee"))
        .unwrap_or(Money::ZERO);
    let broker = p
        .optional(Col::Broker, |s| Ok(s.to_lowercase()))
        .unwrap_or_else(|| "generic".to_owned());
    let (
        Some(broker_ref),
        Some(account),
        Some(executed_at),
        Some(action),
        Some(contracts),
        Some(price),
    ) = (broker_ref, account, executed_at, action, contracts, price)
    else {
        return Err(p.take_error());
    };
    p.check()?;
    let contract = match symbol {
        Some(contract) => {
            let given = p.text(Col::Symbol).unwrap_or_default();
            let disagreement = [
                underlying
                    .filter(|u| *u != contract.underlying)
                    .map(|u| (Col::Underlying, u.to_string())),
                right
                    .filter(|r| *r != contract.right)
                    .map(|r| (Col::Right, r.to_string())),
                strike
                    .filter(|s| *s != contract.strike)
                    .map(|s| (Col::Strike, s.to_string())),
                expiration
                    .filter(|e| *e != contract.expiration)
                    .map(|e| (Col::Expiration, e.to_string())),
            ]
            .into_iter()
            .flatten()
            .min_by_key(|(col, _)| p.position(*col));
            if let Some((col, value)) = disagreement {
                return Err(p.error(
                    Col::Symbol,
                    format!(
                        "`{given}` is {}, but {} says {value}",
                        contract.describe(),
                        col.name()
                    ),
                ));
            }
            contract
        }
        None => {
            let (Some(underlying), Some(right), Some(strike), Some(expiration)) =
                (underlying, right, strike, expiration)
            else {
                return Err(p.take_error());
            };
            Contract::new(underlying, expiration, right, strike)
                .map_err(|e| p.error(Col::Strike, e.to_string()))?
        }
    };
    values::row_value(price, contracts).map_err(|e| p.error(Col::Price, e))?;
    values::row_value(fees, 1).map_err(|e| p.error(Col::Fees, e))?;
    // A trade happens on or before its contract's last day; a lifecycle event (an
    // expiry or an assignment the broker posts later) may carry a later date.
    if !action.is_lifecycle() && contract.expiration < values::exchange_day(executed_at) {
        let col = if by_symbol {
            Col::Symbol
        } else {
            Col::Expiration
        };
        return Err(p.error(
            col,
            format!(
                "the contract expired on {}, before this {action} on {}; a trade cannot come after its expiration",
                contract.expiration,
                values::exchange_day(executed_at)
            ),
        ));
    }
    Ok(Execution {
        account,
        broker,
        broker_ref,
        executed_at,
        action,
        contract,
        contracts,
        price,
        fees,
    })
}

fn price(p: &mut RowParser<'_, '_, Col>) -> Result<PriceClose, RowError> {
    let symbol = p.required(Col::Symbol, values::ticker);
    let date = p.required(Col::Date, date);
    let close = p.required(Col::Close, |s| positive(s, "close"));
    let (Some(symbol), Some(date), Some(close)) = (symbol, date, close) else {
        return Err(p.take_error());
    };
    Ok(PriceClose {
        symbol,
        date,
        close,
    })
}

#[cfg(test)]
mod tests {
    use super::super::read_rows as read;
    use super::super::reading::REQUIRED;
    use super::super::{FileError, ImportFormat, ImportKind, ParsedRow, Record, RowError};
    use super::*;
    use crate::domain::{AccountId, Symbol};
    use chrono::{DateTime, NaiveDate, Utc};
    use std::io::{self, Cursor};

    // --- helpers -----------------------------------------------------------------------

    fn read_all(kind: ImportKind, input: impl Into<Vec<u8>>) -> Result<Vec<ParsedRow>, FileError> {
        read(kind, ImportFormat::Generic, Cursor::new(input.into())).map(Iterator::collect)
    }

    fn rows(kind: ImportKind, input: impl Into<Vec<u8>>) -> Vec<ParsedRow> {
        read_all(kind, input).expect("the file as a whole is fine")
    }

    fn only(kind: ImportKind, input: impl Into<Vec<u8>>) -> Result<Record, RowError> {
        let mut rows = rows(kind, input);
        assert_eq!(rows.len(), 1, "expected exactly one row");
        rows.remove(0).result
    }

    fn file_error(kind: ImportKind, input: impl Into<Vec<u8>>) -> String {
        match read_all(kind, input) {
            Err(e) => e.to_string(),
            Ok(rows) => panic!("expected a file error, got {} rows", rows.len()),
        }
    }

    fn money(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn contract(occ: &str) -> Contract {
        Contract::parse_occ(occ).unwrap()
    }

    fn recommendation(record: Result<Record, RowError>) -> Recommendation {
        match record {
            Ok(Record::Recommendation(r)) => r,
            other => panic!("expected a recommendation, got {other:?}"),
        }
    }

    fn execution(record: Result<Record, RowError>) -> Execution {
        match record {
            Ok(Record::Execution(e)) => e,
            other => panic!("expected an execution, got {other:?}"),
        }
    }

    type Row<'a> = Vec<(&'a str, &'a str)>;

    fn rec_row() -> Row<'static> {
        vec![
            ("external_id", "rec-1"),
            ("account", "123456789"),
            ("created_at", "2025-01-02T09:35:00-08:00"),
            ("action", "sell_to_open"),
            ("underlying", "AAPL"),
            ("right", "put"),
            ("strike", "150"),
            ("expiration", "2025-01-17"),
            ("contracts", "2"),
            ("premium", "1.25"),
            ("underlying_price", "155.20"),
            ("delta", "-0.30"),
            ("iv", "0.35"),
            ("iv_rank", "42"),
            ("earnings_date", "2025-01-30"),
            ("algorithm_version", "v3.2"),
            ("rationale", "high IV, support at 150"),
            ("position", ""),
        ]
    }

    fn exec_row() -> Row<'static> {
        vec![
            ("broker_ref", "F1"),
            ("account", "123456789"),
            ("executed_at", "2025-01-02T10:01:00-08:00"),
            ("action", "sell_to_open"),
            ("underlying", "AAPL"),
            ("right", "put"),
            ("strike", "150"),
            ("expiration", "2025-01-17"),
            ("contracts", "2"),
            ("price", "1.30"),
            ("fees", "1.30"),
            ("broker", "Schwab"),
        ]
    }

    fn price_row() -> Row<'static> {
        vec![
            ("symbol", "AAPL"),
            ("date", "2025-01-17"),
            ("close", "152.10"),
        ]
    }

    fn with<'a>(mut row: Row<'a>, column: &'a str, value: &'a str) -> Row<'a> {
        match row.iter_mut().find(|(c, _)| *c == column) {
            Some(cell) => cell.1 = value,
            None => row.push((column, value)),
        }
        row
    }

    fn without<'a>(mut row: Row<'a>, column: &str) -> Row<'a> {
        row.retain(|(c, _)| *c != column);
        row
    }

    fn quote(value: &str) -> String {
        format!("\"{}\"", value.replace('"', "\"\""))
    }

    fn csv(row: &Row<'_>) -> String {
        let header: Vec<&str> = row.iter().map(|(c, _)| *c).collect();
        let cells: Vec<String> = row.iter().map(|(_, v)| quote(v)).collect();
        format!("{}\n{}\n", header.join(","), cells.join(","))
    }

    fn jsonl(row: &Row<'_>) -> String {
        let pairs: Vec<String> = row
            .iter()
            .map(|(c, v)| format!("{}: {}", serde_json::json!(c), serde_json::json!(v)))
            .collect();
        format!("{{{}}}\n", pairs.join(", "))
    }

    /// Both layouts of one row.
    fn both(row: &Row<'_>) -> [(&'static str, String); 2] {
        [("csv", csv(row)), ("jsonl", jsonl(row))]
    }

    /// The row fails on `column` with a reason containing `reason`, in both layouts (on
    /// line 2 of the CSV, after the header, and line 1 of the JSON Lines).
    fn assert_row_error(kind: ImportKind, row: &Row<'_>, column: &str, reason: &str) {
        for ((layout, text), line) in both(row).into_iter().zip([2, 1]) {
            match only(kind, text) {
                Err(e) => {
                    assert_eq!(e.line, line, "{layout} {row:?}");
                    assert_eq!(e.column.as_deref(), Some(column), "{layout} {row:?}: {e}");
                    assert!(
                        e.reason.contains(reason),
                        "{layout} {row:?}: `{}` should contain `{reason}`",
                        e.reason
                    );
                    assert!(!e.reason.contains("Some("), "no Debug dumps: {}", e.reason);
                }
                Ok(r) => panic!("{layout} {row:?} should fail on {column}, got {r:?}"),
            }
        }
    }

    // --- whole rows --------------------------------------------------------------------

    #[test]
    fn a_full_recommendation_parses_the_same_from_csv_and_json_lines() {
        let expected = Recommendation {
            account: AccountId(123456789),
            external_id: "rec-1".to_owned(),
            created_at: at("2025-01-02T17:35:00Z"),
            action: RecAction::SellToOpen,
            contract: contract("AAPL  250117P00150000"),
            contracts: 2,
            premium: money("1.25"),
            position: None,
            context: RecContext {
                underlying_price: Some(money("155.20")),
                delta: Some(-0.30),
                iv: Some(0.35),
                iv_rank: Some(42.0),
                earnings_date: Some(day("2025-01-30")),
                algorithm_version: Some("v3.2".to_owned()),
                rationale: Some("high IV, support at 150".to_owned()),
            },
        };
        for (layout, text) in both(&rec_row()) {
            assert_eq!(
                recommendation(only(ImportKind::Recommendations, text)),
                expected,
                "{layout}"
            );
        }
    }

    #[test]
    fn empty_optional_cells_leave_the_context_empty() {
        let row: Row = rec_row()
            .into_iter()
            .map(|(c, v)| {
                if RECOMMENDATION_COLUMNS[..10].iter().any(|k| k.name() == c) {
                    (c, v)
                } else {
                    (c, "")
                }
            })
            .collect();
        for (layout, text) in both(&row) {
            let r = recommendation(only(ImportKind::Recommendations, text));
            assert_eq!(r.context, RecContext::default(), "{layout}");
        }
    }

    #[test]
    fn a_full_execution_parses_with_fees_and_a_lowercased_broker() {
        let expected = Execution {
            account: AccountId(123456789),
            broker: "schwab".to_owned(),
            broker_ref: "F1".to_owned(),
            executed_at: at("2025-01-02T18:01:00Z"),
            action: ExecAction::SellToOpen,
            contract: contract("AAPL  250117P00150000"),
            contracts: 2,
            price: money("1.30"),
            fees: money("1.30"),
        };
        for (layout, text) in both(&exec_row()) {
            assert_eq!(
                execution(only(ImportKind::Executions, text)),
                expected,
                "{layout}"
            );
        }
    }

    #[test]
    fn fees_default_to_zero_and_broker_to_generic() {
        let row = without(without(exec_row(), "fees"), "broker");
        for (layout, text) in both(&row) {
            let e = execution(only(ImportKind::Executions, text));
            assert_eq!(
                (e.fees, e.broker.as_str()),
                (Money::ZERO, "generic"),
                "{layout}"
            );
        }
    }

    #[test]
    fn a_price_row_parses_in_both_layouts() {
        let expected = PriceClose {
            symbol: Symbol::parse("AAPL").unwrap(),
            date: day("2025-01-17"),
            close: money("152.10"),
        };
        for (layout, text) in both(&price_row()) {
            assert_eq!(
                only(ImportKind::Prices, text),
                Ok(Record::Price(expected.clone())),
                "{layout}"
            );
        }
    }

    // --- bad values, every column, both layouts ----------------------------------------

    #[test]
    fn every_bad_recommendation_value_is_reported_on_its_column() {
        let cases = [
            ("external_id", "", REQUIRED),
            ("account", "", REQUIRED),
            ("account", "abc", "`abc` is not a Telegram chat id"),
            ("account", "1.5", "`1.5` is not a Telegram chat id"),
            ("account", "0", "`0` is not a Telegram chat id"),
            (
                "account",
                "99999999999999999999",
                "is not a Telegram chat id",
            ),
            (
                "created_at",
                "2025-01-02T09:35:00",
                "`2025-01-02T09:35:00` has no UTC offset, and one is required",
            ),
            ("created_at", "2025-01-02 09:35", "has no UTC offset"),
            (
                "created_at",
                "2025-01-02",
                "`2025-01-02` is a date without a time",
            ),
            (
                "created_at",
                "yesterday",
                "`yesterday` is not an RFC 3339 timestamp",
            ),
            (
                "action",
                "sell",
                "`sell` is not a recommendation action (expected one of: sell_to_open, buy_to_close, roll)",
            ),
            (
                "action",
                "expired",
                "`expired` is not a recommendation action",
            ),
            ("action", "", REQUIRED),
            ("underlying", "1ABC", "`1ABC` is not a ticker symbol"),
            ("underlying", "", REQUIRED),
            (
                "right",
                "straddle",
                "`straddle` is not an option right (expected call or put, C or P)",
            ),
            (
                "strike",
                "abc",
                "`abc` is not a dollar amount (expected a decimal such as 1.25)",
            ),
            ("strike", "0", "`0` is not a positive strike"),
            ("strike", "-150", "`-150` is not a positive strike"),
            (
                "strike",
                "1.23456",
                "`1.23456` has more than 4 decimal places",
            ),
            (
                "strike",
                "20000000",
                "`20000000` is too large (expected at most $10,000,000.00)",
            ),
            (
                "expiration",
                "2025-02-30",
                "`2025-02-30` is not a date (expected YYYY-MM-DD",
            ),
            ("expiration", "01/17/2025", "`01/17/2025` is not a date"),
            (
                "contracts",
                "0",
                "`0` is not a number of contracts (expected a whole number from 1 to 100000)",
            ),
            ("contracts", "-1", "`-1` is not a number of contracts"),
            ("contracts", "1.5", "`1.5` is not a number of contracts"),
            ("contracts", "two", "`two` is not a number of contracts"),
            (
                "contracts",
                "100001",
                "`100001` is not a number of contracts",
            ),
            (
                "premium",
                "-1.25",
                "`-1.25` is negative, but a premium must be 0 or more",
            ),
            ("premium", "", REQUIRED),
            (
                "underlying_price",
                "0",
                "`0` is not a positive underlying price",
            ),
            ("underlying_price", "abc", "`abc` is not a dollar amount"),
            ("delta", "1.5", "`1.5` is not a delta between -1 and 1"),
            ("delta", "abc", "`abc` is not a delta between -1 and 1"),
            ("delta", "NaN", "`NaN` is not a delta"),
            (
                "iv",
                "-0.1",
                "`-0.1` is not an implied volatility of 0 or more",
            ),
            ("iv", "inf", "`inf` is not an implied volatility"),
            (
                "iv_rank",
                "101",
                "`101` is not an IV rank between 0 and 100",
            ),
            ("iv_rank", "-1", "`-1` is not an IV rank"),
            ("earnings_date", "soon", "`soon` is not a date"),
            (
                "position",
                "AAPL  250117P00150000",
                "`AAPL  250117P00150000` is given, but a sell_to_open opens a new position",
            ),
        ];
        for (column, value, reason) in cases {
            let row = with(rec_row(), column, value);
            assert_row_error(ImportKind::Recommendations, &row, column, reason);
        }
    }

    #[test]
    fn every_bad_execution_value_is_reported_on_its_column() {
        let cases = [
            ("broker_ref", "", REQUIRED),
            ("account", "-abc", "`-abc` is not a Telegram chat id"),
            ("executed_at", "2025-01-02T10:01:00", "has no UTC offset"),
            ("action", "roll", "`roll` is not an execution action"),
            (
                "underlying",
                "",
                "a value is required unless `symbol` gives the OCC symbol",
            ),
            ("right", "X", "`X` is not an option right"),
            ("strike", "$", "`$` is not a dollar amount"),
            ("expiration", "2025-1-177", "is not a date"),
            (
                "symbol",
                "NOTANOCC",
                "`NOTANOCC` is not an OCC option symbol",
            ),
            ("contracts", "0", "`0` is not a number of contracts"),
            (
                "price",
                "",
                "a price per share is required for sell_to_open, but none was given",
            ),
            (
                "price",
                "-1.30",
                "`-1.30` is negative, but a price must be 0 or more",
            ),
            (
                "fees",
                "-0.65",
                "`-0.65` is negative, but a fee must be 0 or more",
            ),
            ("fees", "abc", "`abc` is not a dollar amount"),
        ];
        for (column, value, reason) in cases {
            let row = with(exec_row(), column, value);
            assert_row_error(ImportKind::Executions, &row, column, reason);
        }
    }

    #[test]
    fn every_bad_price_value_is_reported_on_its_column() {
        let cases = [
            ("symbol", "", REQUIRED),
            ("symbol", "1ABC", "`1ABC` is not a ticker symbol"),
            ("date", "2025/01/17", "`2025/01/17` is not a date"),
            ("close", "0", "`0` is not a positive close"),
            ("close", "-1", "`-1` is not a positive close"),
            ("close", "abc", "`abc` is not a dollar amount"),
        ];
        for (column, value, reason) in cases {
            let row = with(price_row(), column, value);
            assert_row_error(ImportKind::Prices, &row, column, reason);
        }
    }

    #[test]
    fn the_first_problem_in_header_order_is_the_one_reported() {
        let row = vec![
            ("strike", "abc"),
            ("external_id", "r"),
            ("account", "nope"),
            ("created_at", "2025-01-02T09:35:00Z"),
            ("action", "sell_to_open"),
            ("underlying", "AAPL"),
            ("right", "put"),
            ("expiration", "2025-01-17"),
            ("contracts", "1"),
            ("premium", ""),
        ];
        assert_row_error(ImportKind::Recommendations, &row, "strike", "`abc`");
        let reordered = vec![row[2], row[0], row[1]]
            .into_iter()
            .chain(row[3..].iter().copied())
            .collect();
        assert_row_error(ImportKind::Recommendations, &reordered, "account", "`nope`");
    }

    #[test]
    fn the_row_error_reads_as_a_sentence_with_line_and_column() {
        let with_column = RowError {
            line: 7,
            column: Some("strike".to_owned()),
            reason: "`abc` is not a dollar amount (expected a decimal such as 1.25)".to_owned(),
        };
        assert_eq!(
            with_column.to_string(),
            "line 7, column strike: `abc` is not a dollar amount (expected a decimal such as 1.25)"
        );
        let whole = RowError {
            column: None,
            reason: "the row has 3 fields".to_owned(),
            ..with_column
        };
        assert_eq!(whole.to_string(), "line 7: the row has 3 fields");
    }

    // --- recommendation actions and positions ------------------------------------------

    #[test]
    fn a_buy_to_close_refers_to_the_contract_its_columns_name() {
        let row = with(rec_row(), "action", "buy_to_close");
        for (layout, text) in both(&row) {
            let r = recommendation(only(ImportKind::Recommendations, text));
            assert_eq!(r.position, Some(r.contract.clone()), "{layout}");
        }
        let row = with(
            with(rec_row(), "action", "buy_to_close"),
            "position",
            ".AAPL250117P150",
        );
        for (_, text) in both(&row) {
            let r = recommendation(only(ImportKind::Recommendations, text));
            assert_eq!(r.position, Some(contract("AAPL  250117P00150000")));
        }
    }

    #[test]
    fn a_buy_to_close_whose_position_names_another_contract_is_refused() {
        let row = with(
            with(rec_row(), "action", "buy_to_close"),
            "position",
            "AAPL250117P00155000",
        );
        assert_row_error(
            ImportKind::Recommendations,
            &row,
            "position",
            "`AAPL250117P00155000` is AAPL 2025-01-17 155.00 put, but the contract columns say AAPL 2025-01-17 150.00 put",
        );
    }

    #[test]
    fn a_roll_closes_its_position_and_opens_the_contract_of_its_columns() {
        let row = with(
            with(
                with(rec_row(), "action", "roll"),
                "position",
                "AAPL  250110P00150000",
            ),
            "expiration",
            "2025-01-17",
        );
        for (layout, text) in both(&row) {
            let r = recommendation(only(ImportKind::Recommendations, text));
            assert_eq!(r.action, RecAction::Roll, "{layout}");
            assert_eq!(
                r.position,
                Some(contract("AAPL  250110P00150000")),
                "{layout}"
            );
            assert_eq!(r.contract, contract("AAPL  250117P00150000"), "{layout}");
        }
    }

    #[test]
    fn a_roll_without_a_position_is_refused_on_the_position_column() {
        let row = with(rec_row(), "action", "roll");
        assert_row_error(
            ImportKind::Recommendations,
            &row,
            "position",
            "a roll needs the OCC symbol",
        );
        let row = without(with(rec_row(), "action", "roll"), "position");
        assert_row_error(
            ImportKind::Recommendations,
            &row,
            "position",
            "a roll needs the OCC symbol",
        );
    }

    #[test]
    fn a_roll_into_the_contract_it_closes_is_refused() {
        let row = with(
            with(rec_row(), "action", "roll"),
            "position",
            "AAPL250117P150",
        );
        assert_row_error(
            ImportKind::Recommendations,
            &row,
            "position",
            "is the contract the roll opens",
        );
    }

    #[test]
    fn a_bad_position_symbol_is_refused_for_any_action() {
        for action in ["buy_to_close", "roll"] {
            let row = with(with(rec_row(), "action", action), "position", "AAPL");
            assert_row_error(
                ImportKind::Recommendations,
                &row,
                "position",
                "`AAPL` is not an OCC option symbol",
            );
        }
    }

    // --- executions: OCC symbol vs columns, lifecycle ----------------------------------

    fn exec_by_symbol(symbol: &str) -> Row<'_> {
        let mut row = exec_row();
        row.retain(|(c, _)| !["underlying", "right", "strike", "expiration"].contains(c));
        row.push(("symbol", symbol));
        row
    }

    #[test]
    fn an_execution_may_name_its_contract_by_occ_symbol_alone() {
        for symbol in [
            "AAPL  250117P00150000",
            "AAPL250117P00150000",
            ".AAPL250117P150",
        ] {
            for (layout, text) in both(&exec_by_symbol(symbol)) {
                let e = execution(only(ImportKind::Executions, text));
                assert_eq!(
                    e.contract,
                    contract("AAPL  250117P00150000"),
                    "{layout} {symbol}"
                );
            }
        }
    }

    #[test]
    fn an_occ_symbol_and_contract_columns_that_agree_are_accepted() {
        let row = with(exec_row(), "symbol", "AAPL  250117P00150000");
        for (layout, text) in both(&row) {
            let e = execution(only(ImportKind::Executions, text));
            assert_eq!(e.contract, contract("AAPL  250117P00150000"), "{layout}");
        }
        // Some columns empty: the symbol fills them in, the given ones must agree.
        let row = with(
            with(exec_row(), "symbol", "AAPL  250117P00150000"),
            "strike",
            "",
        );
        for (_, text) in both(&row) {
            execution(only(ImportKind::Executions, text));
        }
    }

    #[test]
    fn an_occ_symbol_that_disagrees_with_the_columns_is_refused_on_symbol() {
        let cases = [
            ("underlying", "MSFT", "but underlying says MSFT"),
            ("right", "call", "but right says call"),
            ("strike", "155", "but strike says 155.00"),
            ("expiration", "2025-01-24", "but expiration says 2025-01-24"),
        ];
        for (column, value, reason) in cases {
            let row = with(with(exec_row(), "symbol", "AAPL250117P150"), column, value);
            assert_row_error(
                ImportKind::Executions,
                &row,
                "symbol",
                &format!("`AAPL250117P150` is AAPL 2025-01-17 150.00 put, {reason}"),
            );
        }
    }

    #[test]
    fn an_execution_with_neither_symbol_nor_contract_columns_is_refused() {
        let row = with(with(exec_row(), "symbol", ""), "right", "");
        assert_row_error(
            ImportKind::Executions,
            &row,
            "right",
            "unless `symbol` gives the OCC symbol",
        );
    }

    #[test]
    fn lifecycle_events_may_leave_the_price_empty() {
        for action in ["expired", "assigned", "exercised"] {
            let row = with(with(exec_row(), "action", action), "price", "");
            for (layout, text) in both(&row) {
                let e = execution(only(ImportKind::Executions, text));
                assert_eq!(e.price, Money::ZERO, "{layout} {action}");
                assert!(e.action.is_lifecycle());
            }
            let row = with(with(exec_row(), "action", action), "contracts", "0");
            assert_row_error(
                ImportKind::Executions,
                &row,
                "contracts",
                "is not a number of contracts",
            );
        }
    }

    #[test]
    fn every_execution_action_is_read() {
        for action in ExecAction::ALL {
            let row = with(exec_row(), "action", action.as_str());
            assert_eq!(
                execution(only(ImportKind::Executions, csv(&row))).action,
                *action
            );
        }
    }

    // --- header and layout -------------------------------------------------------------

    #[test]
    fn a_missing_required_column_is_a_file_error() {
        let cases = [
            (
                ImportKind::Recommendations,
                without(rec_row(), "strike"),
                "the header has no `strike` column (required for recommendations)",
            ),
            (
                ImportKind::Recommendations,
                without(rec_row(), "external_id"),
                "the header has no `external_id` column (required for recommendations)",
            ),
            (
                ImportKind::Executions,
                without(exec_row(), "price"),
                "the header has no `price` column (required for executions)",
            ),
            (
                ImportKind::Executions,
                without(exec_row(), "expiration"),
                "the header has no `expiration` column and no `symbol` column (executions need underlying, right, strike and expiration, or an OCC symbol in `symbol`)",
            ),
            (
                ImportKind::Prices,
                without(price_row(), "close"),
                "the header has no `close` column (required for prices)",
            ),
        ];
        for (kind, row, message) in cases {
            assert_eq!(file_error(kind, csv(&row)), message);
        }
    }

    #[test]
    fn a_header_naming_a_column_twice_is_a_file_error() {
        let text = "symbol,date,close,Close\nAAPL,2025-01-17,1,2\n";
        assert_eq!(
            file_error(ImportKind::Prices, text),
            "the header has more than one `close` column"
        );
    }

    #[test]
    fn an_empty_or_blank_file_is_a_file_error() {
        for text in ["", "\n\n  \r\n", "\u{feff}"] {
            assert_eq!(
                file_error(ImportKind::Prices, text),
                "the file is empty (expected a CSV header row or JSON Lines)"
            );
        }
    }

    #[test]
    fn a_header_without_rows_yields_nothing() {
        assert_eq!(rows(ImportKind::Prices, "symbol,date,close\n"), vec![]);
    }

    #[test]
    fn headers_are_trimmed_case_insensitive_in_any_order_and_may_follow_a_bom() {
        let text = "\u{feff} Close ,SYMBOL,  Note , Date\n152.10,aapl,whatever,2025-01-17\n";
        let expected = PriceClose {
            symbol: Symbol::parse("AAPL").unwrap(),
            date: day("2025-01-17"),
            close: money("152.10"),
        };
        assert_eq!(
            only(ImportKind::Prices, text),
            Ok(Record::Price(expected.clone()))
        );
        let json = "\u{feff}{\" SYMBOL \": \"AAPL\", \"Date\": \"2025-01-17\", \"CLOSE\": 152.1, \"extra\": [1]}\n";
        assert_eq!(only(ImportKind::Prices, json), Ok(Record::Price(expected)));
    }

    #[test]
    fn a_non_utf8_header_is_a_file_error_and_a_non_utf8_cell_a_row_error() {
        let header = b"symbol,d\xe9te,close\nAAPL,2025-01-17,1\n".to_vec();
        assert_eq!(
            file_error(ImportKind::Prices, header),
            "the header row is not UTF-8 text (save the file as UTF-8)"
        );
        let cell = b"symbol,date,close\nAAPL,2025-01-17,1\nCAF\xc9,2025-01-17,1\n".to_vec();
        let rows = rows(ImportKind::Prices, cell);
        assert!(rows[0].result.is_ok());
        let e = rows[1].result.clone().unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (3, Some("symbol")));
        assert!(e.reason.contains("is not UTF-8 text"), "{}", e.reason);
    }

    #[test]
    fn quoted_cells_keep_commas_and_newlines_and_lines_count_from_where_a_record_starts() {
        let text = concat!(
            "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium,rationale\n",
            "r1,1,2025-01-02T09:35:00Z,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\"high IV, near support\"\n",
            "r2,1,2025-01-02T09:35:00Z,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\"line one\n",
            "line two\n",
            "line three\"\n",
            "r3,1,2025-01-02T09:35:00Z,sell_to_open,AAPL,put,abc,2025-01-17,1,1.25,\n",
        );
        let lines_of = |text: String| -> Vec<u64> {
            rows(ImportKind::Recommendations, text)
                .iter()
                .map(|r| r.line)
                .collect()
        };
        assert_eq!(
            lines_of(text.replace('\n', "\r\n")),
            [2, 3, 6],
            "CRLF line ends"
        );
        assert_eq!(
            lines_of(format!("\n\n{text}")),
            [4, 5, 8],
            "blank lines before the header"
        );
        let rows = rows(ImportKind::Recommendations, text);
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 6]);
        let r1 = recommendation(rows[0].result.clone());
        assert_eq!(
            r1.context.rationale.as_deref(),
            Some("high IV, near support")
        );
        let r2 = recommendation(rows[1].result.clone());
        assert_eq!(
            r2.context.rationale.as_deref(),
            Some("line one\nline two\nline three")
        );
        let e = rows[2].result.clone().unwrap_err();
        assert_eq!((e.line, e.column.as_deref()), (6, Some("strike")));
    }

    #[test]
    fn a_csv_row_with_the_wrong_number_of_fields_is_a_row_error() {
        let text = "symbol,date,close\nAAPL,2025-01-17,1\nAAPL,2025-01-17\nAAPL,2025-01-17,1,2\nMSFT,2025-01-17,2\n";
        let rows = rows(ImportKind::Prices, text);
        assert_eq!(rows.len(), 4);
        for (row, fields) in rows[1..3].iter().zip([2, 4]) {
            let e = row.result.clone().unwrap_err();
            assert_eq!(e.column, None);
            assert_eq!(
                e.reason,
                format!(
                    "the row has {fields} fields but the header has 3 columns (a comma inside a value needs quotes)"
                )
            );
        }
        assert_eq!((rows[1].line, rows[2].line), (3, 4));
        assert!(rows[3].result.is_ok());
    }

    #[test]
    fn blank_lines_and_empty_rows_are_skipped_but_still_counted() {
        let text =
            "\n\nsymbol,date,close\r\n\r\nAAPL,2025-01-17,1\r\n,,\r\nMSFT,2025-01-17,x\r\n\r\n";
        let lines: Vec<(u64, bool)> = rows(ImportKind::Prices, text)
            .iter()
            .map(|r| (r.line, r.result.is_ok()))
            .collect();
        assert_eq!(lines, [(5, true), (7, false)]);
        let json = "\n{\"symbol\":\"AAPL\",\"date\":\"2025-01-17\",\"close\":1}\n   \n{\"symbol\":\"MSFT\",\"date\":\"2025-01-17\",\"close\":\"x\"}";
        let lines: Vec<(u64, bool)> = rows(ImportKind::Prices, json)
            .iter()
            .map(|r| (r.line, r.result.is_ok()))
            .collect();
        assert_eq!(lines, [(2, true), (4, false)]);
    }

    // --- JSON Lines ----------------------------------------------------------------------

    #[test]
    fn json_values_may_be_numbers_or_strings_and_null_is_empty() {
        let as_numbers = r#"{"external_id":"r","account":-1001234567890,"created_at":"2025-01-02T09:35:00Z","action":"sell_to_open","underlying":"AAPL","right":"P","strike":150,"expiration":"2025-01-17","contracts":2,"premium":1.25,"delta":-0.3,"iv_rank":42,"position":null,"rationale":null}"#;
        let as_strings = r#"{"external_id":"r","account":"-1001234567890","created_at":"2025-01-02T09:35:00Z","action":"sell_to_open","underlying":"AAPL","right":"P","strike":"150.00","expiration":"2025-01-17","contracts":"2","premium":"1.25","delta":"-0.3","iv_rank":"42","position":"","rationale":""}"#;
        let a = recommendation(only(ImportKind::Recommendations, as_numbers));
        let b = recommendation(only(ImportKind::Recommendations, as_strings));
        assert_eq!(a, b);
        assert_eq!(a.account, AccountId(-1001234567890));
        assert_eq!(
            (a.contract.strike, a.premium),
            (money("150"), money("1.25"))
        );
        assert_eq!(a.context.delta, Some(-0.3));
        assert_eq!(a.context.rationale, None);
    }

    #[test]
    fn a_json_number_that_is_not_whole_is_not_an_account() {
        let line = jsonl(&rec_row()).replace("\"123456789\"", "123456789.5");
        let e = only(ImportKind::Recommendations, line).unwrap_err();
        assert_eq!(e.column.as_deref(), Some("account"));
        assert!(
            e.reason
                .starts_with("`123456789.5` is not a Telegram chat id"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn a_line_that_is_not_json_is_a_row_error_and_the_rest_still_parse() {
        let text = concat!(
            "{\"symbol\":\"AAPL\",\"date\":\"2025-01-17\",\"close\":1}\n",
            "{\"symbol\":\"AAPL\",\"date\":\"2025-01-17\",\"close\":1\n",
            "symbol,date,close\n",
            "[1, 2]\n",
            "{\"symbol\":\"MSFT\",\"date\":\"2025-01-17\",\"close\":2}\n",
        );
        let rows = rows(ImportKind::Prices, text);
        let summary: Vec<(u64, bool)> = rows.iter().map(|r| (r.line, r.result.is_ok())).collect();
        assert_eq!(
            summary,
            [(1, true), (2, false), (3, false), (4, false), (5, true)]
        );
        let broken = rows[1].result.clone().unwrap_err();
        assert_eq!(broken.column, None);
        assert!(
            broken
                .reason
                .contains("is not valid JSON (EOF while parsing an object at character"),
            "{}",
            broken.reason
        );
        let csv_line = rows[2].result.clone().unwrap_err();
        assert!(
            csv_line
                .reason
                .starts_with("`symbol,date,close` is not a JSON object"),
            "{}",
            csv_line.reason
        );
        let array = rows[3].result.clone().unwrap_err();
        assert!(
            array.reason.starts_with("`[1, 2]` is not a JSON object"),
            "{}",
            array.reason
        );
    }

    #[test]
    fn a_json_key_missing_or_holding_a_list_is_reported_on_its_column() {
        let e = only(ImportKind::Prices, r#"{"symbol":"AAPL","close":1}"#).unwrap_err();
        assert_eq!(
            (e.column.as_deref(), e.reason.as_str()),
            (Some("date"), REQUIRED)
        );
        let e = only(
            ImportKind::Prices,
            r#"{"symbol":"AAPL","date":["2025-01-17"],"close":1}"#,
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("date"));
        assert_eq!(
            e.reason,
            "`[\"2025-01-17\"]` is a JSON array (expected a string or a number)"
        );
        let e = only(
            ImportKind::Prices,
            r#"{"symbol":"AAPL","date":"2025-01-17","close":1,"Close":2}"#,
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("close"));
        assert_eq!(e.reason, "`close` is given more than once in the object");
    }

    #[test]
    fn json_keys_keep_their_order_for_the_first_problem() {
        let e = only(
            ImportKind::Prices,
            r#"{"close":"x","symbol":"1A","date":"no"}"#,
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("close"));
        let e = only(
            ImportKind::Prices,
            r#"{"date":"no","close":"x","symbol":"1A"}"#,
        )
        .unwrap_err();
        assert_eq!(e.column.as_deref(), Some("date"));
    }

    // --- streaming ---------------------------------------------------------------------

    /// Writes `rows` price rows on demand, so the test file never exists in memory whole.
    struct Generated {
        pending: Vec<u8>,
        next: usize,
        rows: usize,
    }

    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.pending.is_empty() && self.next < self.rows {
                self.pending = if self.next == 0 {
                    b"symbol,date,close\n".to_vec()
                } else {
                    format!("S{},2025-01-17,{}.25\n", self.next % 1000, self.next).into_bytes()
                };
                self.next += 1;
            }
            let n = out.len().min(self.pending.len());
            out[..n].copy_from_slice(&self.pending[..n]);
            self.pending.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn a_hundred_thousand_rows_stream_through_in_one_pass() {
        let input = Generated {
            pending: Vec::new(),
            next: 0,
            rows: 100_001,
        };
        let mut count = 0u64;
        for row in read(ImportKind::Prices, ImportFormat::Generic, input).unwrap() {
            count += 1;
            assert_eq!(row.line, count + 1);
            assert!(row.result.is_ok(), "{:?}", row.result);
        }
        assert_eq!(count, 100_000);
    }

    /// A reader that fails after its first bytes.
    struct Failing(Vec<u8>);

    impl Read for Failing {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = out.len().min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }

    #[test]
    fn a_read_failure_mid_file_ends_the_stream_with_a_row_error() {
        let input = Failing(b"symbol,date,close\nAAPL,2025-01-17,1\n".to_vec());
        let rows: Vec<ParsedRow> = read(ImportKind::Prices, ImportFormat::Generic, input)
            .unwrap()
            .collect();
        let last = rows.last().unwrap().result.clone().unwrap_err();
        assert!(
            last.reason
                .contains("the rest of the file could not be read"),
            "{}",
            last.reason
        );
        let empty = read(
            ImportKind::Prices,
            ImportFormat::Generic,
            Failing(Vec::new()),
        );
        assert!(matches!(empty, Err(FileError::Unreadable(_))));
    }
}
