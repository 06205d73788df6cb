//! The generic import format (SPEC §10): CSV with a header row, or JSON Lines with the
//! same keys.
//!
//! Both layouts come down to the same thing: for each row, the cells of the columns this
//! kind of file knows, each with its position in the row. One set of column parsers turns
//! those cells into domain values, so a value means the same in either layout and a bad
//! value gets the same sentence.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, BufRead, BufReader, Cursor, Read};

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

use super::{FileError, ImportKind, ParsedRow, Record, RowError};
use crate::domain::{
    AccountId, Contract, ExecAction, Execution, Money, PriceClose, RecAction, RecContext,
    Recommendation, Right, Symbol,
};

/// Streams the rows of a generic file; see [`super::read_rows`].
pub fn read_rows<R: Read + 'static>(
    kind: ImportKind,
    input: R,
) -> Result<Box<dyn Iterator<Item = ParsedRow>>, FileError> {
    let mut reader = BufReader::new(input);
    let head = read_head(&mut reader)?;
    let Some(start) = head.iter().position(|b| !is_blank(*b)) else {
        return Err(FileError::Empty);
    };
    if head[start] == b'{' {
        // JSON Lines counts its own lines, so it gets the leading blank lines too.
        let stream = Cursor::new(head).chain(reader);
        return Ok(Box::new(JsonRows {
            kind,
            reader: stream,
            line: 0,
            buf: Vec::new(),
            done: false,
        }));
    }
    // CSV starts at the header; the blank lines before it only shift the line numbers.
    let line_offset = count_newlines(&head[..start]);
    let stream = Cursor::new(head[start..].to_vec()).chain(reader);
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(Tee::new(stream));
    let names = csv.byte_headers().map_err(csv_file_error)?;
    let names = names
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| FileError::HeaderNotUtf8)?;
    let header = Header::new(kind, &names)?;
    let next = csv.position().byte();
    csv.get_mut().forget_before(next);
    Ok(Box::new(CsvRows {
        kind,
        reader: csv,
        header,
        line_offset,
        last_line: 1,
        record: csv::ByteRecord::new(),
        done: false,
    }))
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

/// Where each known column sits in a CSV header.
struct Header {
    columns: Vec<(usize, Col)>,
    width: usize,
}

impl Header {
    fn new(kind: ImportKind, names: &[&str]) -> Result<Self, FileError> {
        let mut seen = [false; COLUMN_COUNT];
        let mut columns = Vec::new();
        for (index, name) in names.iter().enumerate() {
            let Some(col) = Col::named(kind, name) else {
                continue;
            };
            if seen[col as usize] {
                return Err(FileError::DuplicateColumn { column: col.name() });
            }
            seen[col as usize] = true;
            columns.push((index, col));
        }
        if let Some(col) = Col::required(kind).iter().find(|c| !seen[**c as usize]) {
            return Err(FileError::MissingColumn {
                column: col.name(),
                kind,
            });
        }
        if kind == ImportKind::Executions
            && !seen[Col::Symbol as usize]
            && let Some(col) = CONTRACT_COLUMNS.iter().find(|c| !seen[**c as usize])
        {
            return Err(FileError::MissingContractColumn { column: col.name() });
        }
        Ok(Self {
            columns,
            width: names.len(),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Reading: CSV and JSON Lines into cells

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

fn count_newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

/// Reads up to and including the first non-blank byte (or to the end), dropping a UTF-8
/// byte order mark. The rest stays in `reader`.
fn read_head(reader: &mut impl BufRead) -> Result<Vec<u8>, FileError> {
    let mut head = Vec::new();
    while head.len() < BOM.len() {
        let buf = fill(reader)?;
        if buf.is_empty() {
            break;
        }
        let n = buf.len().min(BOM.len() - head.len());
        head.extend_from_slice(&buf[..n]);
        reader.consume(n);
    }
    if head == BOM {
        head.clear();
    }
    while head.iter().all(|b| is_blank(*b)) {
        let buf = fill(reader)?;
        if buf.is_empty() {
            break;
        }
        let n = buf
            .iter()
            .position(|b| !is_blank(*b))
            .map_or(buf.len(), |i| i + 1);
        head.extend_from_slice(&buf[..n]);
        reader.consume(n);
    }
    Ok(head)
}

fn fill(reader: &mut impl BufRead) -> Result<&[u8], FileError> {
    // `fill_buf` may be interrupted before it reads anything; that is not a failure.
    loop {
        match reader.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(FileError::Unreadable(e)),
        }
    }
    reader.fill_buf().map_err(FileError::Unreadable)
}

fn csv_file_error(e: csv::Error) -> FileError {
    let message = e.to_string();
    match e.into_kind() {
        csv::ErrorKind::Io(e) => FileError::Unreadable(e),
        _ => FileError::Unreadable(io::Error::other(message)),
    }
}

/// A cell of a known column, untrimmed.
enum Value<'a> {
    Empty,
    Text(Cow<'a, str>),
    /// Present but unusable whatever the column (a JSON array, a repeated key); the
    /// reason is reported only if the row gets as far as this column.
    Invalid(String),
}

struct Slot<'a> {
    /// The cell's place in the row, so the first problem in the row is the one reported.
    position: usize,
    value: Value<'a>,
}

/// The known columns of one row.
struct Fields<'a> {
    slots: [Option<Slot<'a>>; COLUMN_COUNT],
}

impl<'a> Fields<'a> {
    fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| None),
        }
    }

    fn set(&mut self, col: Col, position: usize, value: Value<'a>) {
        let slot = &mut self.slots[col as usize];
        match slot {
            Some(earlier) => {
                earlier.value = Value::Invalid(format!(
                    "`{}` is given more than once in the object",
                    col.name()
                ));
            }
            None => *slot = Some(Slot { position, value }),
        }
    }
}

/// Keeps the bytes the CSV reader has read but not yet turned into records.
///
/// The csv crate dates a record from where it started reading it, which is before any
/// blank lines it skipped and, with CRLF line ends, before the `\n` of the previous
/// record. Looking at those bytes tells the line the record really starts on.
struct Tee<R> {
    inner: R,
    /// The stream offset of `bytes[0]`.
    start: u64,
    bytes: VecDeque<u8>,
}

impl<R: Read> Tee<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            start: 0,
            bytes: VecDeque::new(),
        }
    }

    /// How many line ends come before the first byte of content at or after `byte`.
    fn newlines_from(&self, byte: u64) -> u64 {
        let from = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        self.bytes
            .range(from.min(self.bytes.len())..)
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .filter(|b| **b == b'\n')
            .count() as u64
    }

    fn forget_before(&mut self, byte: u64) {
        let n = usize::try_from(byte.saturating_sub(self.start)).unwrap_or(usize::MAX);
        let n = n.min(self.bytes.len());
        self.bytes.drain(..n);
        self.start += n as u64;
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.bytes.extend(&out[..n]);
        Ok(n)
    }
}

struct CsvRows<R: Read> {
    kind: ImportKind,
    reader: csv::Reader<Tee<R>>,
    header: Header,
    /// Blank lines before the header.
    line_offset: u64,
    /// The line of the last record, in the reader's count.
    last_line: u64,
    record: csv::ByteRecord,
    done: bool,
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = ParsedRow;

    fn next(&mut self) -> Option<ParsedRow> {
        while !self.done {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => self.done = true,
                Ok(true) => {
                    let tee = self.reader.get_ref();
                    let line = match self.record.position() {
                        Some(p) => p.line() + tee.newlines_from(p.byte()),
                        None => self.last_line + 1,
                    };
                    self.last_line = line;
                    let next = self.reader.position().byte();
                    self.reader.get_mut().forget_before(next);
                    // Spreadsheets leave rows of empty cells at the end; they say nothing.
                    if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                        continue;
                    }
                    let line = line + self.line_offset;
                    let result = self.parse_record(line);
                    return Some(ParsedRow { line, result });
                }
                Err(e) => {
                    self.done = true;
                    let line = self.last_line + 1 + self.line_offset;
                    return Some(ParsedRow {
                        line,
                        result: Err(RowError {
                            line,
                            column: None,
                            reason: format!("the rest of the file could not be read ({e})"),
                        }),
                    });
                }
            }
        }
        None
    }
}

impl<R: Read> CsvRows<R> {
    fn parse_record(&self, line: u64) -> Result<Record, RowError> {
        let record = &self.record;
        if record.len() != self.header.width {
            return Err(RowError {
                line,
                column: None,
                reason: format!(
                    "the row has {} fields but the header has {} columns (a comma inside a value needs quotes)",
                    record.len(),
                    self.header.width
                ),
            });
        }
        let mut fields = Fields::new();
        for &(index, col) in &self.header.columns {
            let raw = &record[index];
            let text = std::str::from_utf8(raw).map_err(|_| RowError {
                line,
                column: Some(col.name().to_owned()),
                reason: format!(
                    "`{}` is not UTF-8 text (save the file as UTF-8)",
                    String::from_utf8_lossy(raw).trim()
                ),
            })?;
            fields.set(col, index, Value::Text(Cow::Borrowed(text)));
        }
        parse_fields(self.kind, line, &fields)
    }
}

struct JsonRows<R: BufRead> {
    kind: ImportKind,
    reader: R,
    line: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<R: BufRead> Iterator for JsonRows<R> {
    type Item = ParsedRow;

    fn next(&mut self) -> Option<ParsedRow> {
        while !self.done {
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line += 1;
                    let text = self.buf.trim_ascii();
                    if text.is_empty() {
                        continue;
                    }
                    let result = parse_json_line(self.kind, self.line, text);
                    return Some(ParsedRow {
                        line: self.line,
                        result,
                    });
                }
                Err(e) => {
                    self.done = true;
                    let line = self.line + 1;
                    return Some(ParsedRow {
                        line,
                        result: Err(RowError {
                            line,
                            column: None,
                            reason: format!("the rest of the file could not be read ({e})"),
                        }),
                    });
                }
            }
        }
        None
    }
}

/// A JSON object with its keys in file order (`serde_json::Map` would sort them, and the
/// first problem in a row is the first in the order the row was written).
struct JsonObject(Vec<(String, serde_json::Value)>);

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error>
    where
        D: Deserializer<'de>,
    {
        struct ObjectVisitor;

        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = JsonObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A>(self, mut map: A) -> Result<JsonObject, A::Error>
            where
                A: MapAccess<'de>,
            {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(JsonObject(pairs))
            }
        }

        deserializer.deserialize_map(ObjectVisitor)
    }
}

fn parse_json_line(kind: ImportKind, line: u64, bytes: &[u8]) -> Result<Record, RowError> {
    let whole = |reason: String| RowError {
        line,
        column: None,
        reason,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|_| whole("the line is not UTF-8 text (save the file as UTF-8)".to_owned()))?;
    if !text.starts_with('{') {
        return Err(whole(format!(
            "`{}` is not a JSON object (expected one object per line, such as {{\"strike\": 150}})",
            snippet(text)
        )));
    }
    let object: JsonObject = serde_json::from_str(text).map_err(|e| {
        whole(format!(
            "`{}` is not valid JSON ({})",
            snippet(text),
            json_problem(&e)
        ))
    })?;
    let mut fields = Fields::new();
    for (position, (key, value)) in object.0.into_iter().enumerate() {
        let Some(col) = Col::named(kind, &key) else {
            continue;
        };
        let value = match value {
            serde_json::Value::Null => Value::Empty,
            serde_json::Value::String(s) => Value::Text(Cow::Owned(s)),
            serde_json::Value::Number(n) => Value::Text(Cow::Owned(n.to_string())),
            serde_json::Value::Bool(b) => Value::Text(Cow::Owned(b.to_string())),
            other @ (serde_json::Value::Array(_) | serde_json::Value::Object(_)) => {
                Value::Invalid(format!(
                    "`{}` is a JSON {} (expected a string or a number)",
                    snippet(&other.to_string()),
                    if other.is_array() { "array" } else { "object" }
                ))
            }
        };
        fields.set(col, position, value);
    }
    parse_fields(kind, line, &fields)
}

/// serde_json's message without its "at line 1 column 17", which would be misleading
/// here (every object is on line 1 of itself); the column is kept as a character count.
fn json_problem(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = message
        .rsplit_once(" at line ")
        .map_or(message.as_str(), |(m, _)| m);
    format!("{message} at character {}", e.column())
}

/// The start of a long value, for a message.
fn snippet(text: &str) -> String {
    const MAX: usize = 40;
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

// ---------------------------------------------------------------------------------------
// Cells into domain values

const REQUIRED: &str = "a value is required but none was given";

/// Cells of a row not yet given: ranked after every cell that is.
const ABSENT: usize = 1 << 20;

/// Reads a row's cells into values, remembering the problem that comes first in the row.
struct RowParser<'r, 'a> {
    line: u64,
    fields: &'r Fields<'a>,
    first: Option<(usize, RowError)>,
}

impl<'r, 'a> RowParser<'r, 'a> {
    fn new(line: u64, fields: &'r Fields<'a>) -> Self {
        Self {
            line,
            fields,
            first: None,
        }
    }

    /// The trimmed cell: `Ok(None)` when it is empty or absent.
    fn raw(&self, col: Col) -> Result<Option<&'r str>, &'r str> {
        let fields: &'r Fields<'a> = self.fields;
        match fields.slots[col as usize].as_ref().map(|s| &s.value) {
            None | Some(Value::Empty) => Ok(None),
            Some(Value::Text(t)) => {
                let t = t.trim();
                Ok((!t.is_empty()).then_some(t))
            }
            Some(Value::Invalid(reason)) => Err(reason),
        }
    }

    fn is_blank(&self, col: Col) -> bool {
        matches!(self.raw(col), Ok(None))
    }

    fn text(&self, col: Col) -> Option<&'r str> {
        self.raw(col).ok().flatten()
    }

    fn position(&self, col: Col) -> usize {
        self.fields.slots[col as usize]
            .as_ref()
            .map_or(ABSENT + col as usize, |s| s.position)
    }

    fn error(&self, col: Col, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            column: Some(col.name().to_owned()),
            reason: reason.into(),
        }
    }

    fn fail(&mut self, col: Col, reason: impl Into<String>) {
        let position = self.position(col);
        if self.first.as_ref().is_none_or(|(p, _)| position < *p) {
            self.first = Some((position, self.error(col, reason)));
        }
    }

    /// Parses a cell. An empty cell is `None`, and a problem when `missing` says why a
    /// value is needed. A bad value is remembered as a problem and read as `None`.
    fn value<T>(
        &mut self,
        col: Col,
        missing: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        match self.raw(col) {
            Err(reason) => {
                self.fail(col, reason);
                None
            }
            Ok(None) => {
                if let Some(why) = missing {
                    self.fail(col, why);
                }
                None
            }
            Ok(Some(text)) => match parse(text) {
                Ok(v) => Some(v),
                Err(reason) => {
                    self.fail(col, reason);
                    None
                }
            },
        }
    }

    fn required<T>(
        &mut self,
        col: Col,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.value(col, Some(REQUIRED), parse)
    }

    fn optional<T>(
        &mut self,
        col: Col,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        self.value(col, None, parse)
    }

    /// The first problem so far, if any.
    fn check(&mut self) -> Result<(), RowError> {
        match self.first.take() {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }

    /// The first problem; called when a required value is missing, so there is one.
    fn take_error(&mut self) -> RowError {
        self.first.take().map_or_else(
            || RowError {
                line: self.line,
                column: None,
                reason: "the row could not be read".to_owned(),
            },
            |(_, e)| e,
        )
    }
}

fn parse_fields(kind: ImportKind, line: u64, fields: &Fields<'_>) -> Result<Record, RowError> {
    let mut p = RowParser::new(line, fields);
    match kind {
        ImportKind::Recommendations => recommendation(&mut p).map(Record::Recommendation),
        ImportKind::Executions => execution(&mut p).map(Record::Execution),
        ImportKind::Prices => price(&mut p).map(Record::Price),
    }
}

fn recommendation(p: &mut RowParser<'_, '_>) -> Result<Recommendation, RowError> {
    let external_id = p.required(Col::ExternalId, text);
    let account = p.required(Col::Account, account);
    let created_at = p.required(Col::CreatedAt, timestamp);
    let action = p.required(Col::Action, |s| {
        s.parse::<RecAction>().map_err(|e| e.to_string())
    });
    let underlying = p.required(Col::Underlying, root);
    let right = p.required(Col::Right, right);
    let strike = p.required(Col::Strike, strike);
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

fn execution(p: &mut RowParser<'_, '_>) -> Result<Execution, RowError> {
    let broker_ref = p.required(Col::BrokerRef, text);
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
    let underlying = p.value(Col::Underlying, missing, root);
    let right = p.value(Col::Right, missing, self::right);
    let strike = p.value(Col::Strike, missing, self::strike);
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

fn price(p: &mut RowParser<'_, '_>) -> Result<PriceClose, RowError> {
    let symbol = p.required(Col::Symbol, ticker);
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

// Each parser takes a trimmed, non-empty cell and says in one sentence what is wrong.

/// More contracts than any real order has; the bound keeps money × quantity in range.
const MAX_CONTRACTS: i64 = 100_000;

/// More dollars than any price, premium or fee; the bound keeps money × quantity in range.
const MAX_DOLLARS: i64 = 10_000_000;

fn text(s: &str) -> Result<String, String> {
    Ok(s.to_owned())
}

fn account(s: &str) -> Result<AccountId, String> {
    match s.parse::<i64>() {
        Ok(id) if id != 0 => Ok(AccountId(id)),
        _ => Err(format!(
            "`{s}` is not a Telegram chat id (expected a whole number such as 123456789)"
        )),
    }
}

fn timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let without_offset = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .any(|f| NaiveDateTime::parse_from_str(s, f).is_ok());
    if without_offset {
        Err(format!(
            "`{s}` has no UTC offset, and one is required (as in 2025-01-02T09:35:00-08:00 or 2025-01-02T17:35:00Z)"
        ))
    } else if NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() {
        Err(format!(
            "`{s}` is a date without a time (expected a timestamp with an offset such as 2025-01-02T09:35:00-08:00)"
        ))
    } else {
        Err(format!(
            "`{s}` is not an RFC 3339 timestamp (expected e.g. 2025-01-02T09:35:00-08:00)"
        ))
    }
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("`{s}` is not a date (expected YYYY-MM-DD, such as 2025-01-17)"))
}

fn ticker(s: &str) -> Result<Symbol, String> {
    Symbol::parse(s).map_err(|e| e.to_string())
}

/// The underlying of an option row: an adjusted root (`AAPL1`) is refused.
fn root(s: &str) -> Result<Symbol, String> {
    Symbol::parse_root(s).map_err(|e| e.to_string())
}

fn right(s: &str) -> Result<Right, String> {
    s.parse::<Right>().map_err(|e| e.to_string())
}

fn occ(s: &str) -> Result<Contract, String> {
    Contract::parse_occ(s).map_err(|e| e.to_string())
}

fn money(s: &str) -> Result<Money, String> {
    let m = Money::parse(s).map_err(|e| e.to_string())?;
    if m.abs() > Money::from_dollars(MAX_DOLLARS) {
        return Err(format!(
            "`{s}` is too large (expected at most {})",
            Money::from_dollars(MAX_DOLLARS).to_dollars_display()
        ));
    }
    Ok(m)
}

fn strike(s: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m <= Money::ZERO {
        return Err(format!(
            "`{s}` is not a positive strike (expected a price above 0 such as 150)"
        ));
    }
    Ok(m)
}

fn positive(s: &str, what: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m <= Money::ZERO {
        return Err(format!(
            "`{s}` is not a positive {what} (expected an amount above 0)"
        ));
    }
    Ok(m)
}

fn not_negative(s: &str, what: &str) -> Result<Money, String> {
    let m = money(s)?;
    if m.is_negative() {
        return Err(format!("`{s}` is negative, but a {what} must be 0 or more"));
    }
    Ok(m)
}

fn contracts(s: &str) -> Result<i64, String> {
    match s.parse::<i64>() {
        Ok(n) if (1..=MAX_CONTRACTS).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a number of contracts (expected a whole number from 1 to {MAX_CONTRACTS})"
        )),
    }
}

fn number_between(s: &str, expected: &str, low: f64, high: f64) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (low..=high).contains(&x) => Ok(x),
        _ => Err(format!("`{s}` is not {expected}")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::read_rows as read;
    use super::super::{FileError, ImportFormat, ImportKind, ParsedRow, Record, RowError};
    use super::*;

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

    // --- timestamps --------------------------------------------------------------------

    #[test]
    fn timestamps_with_an_offset_or_z_become_utc() {
        let cases = [
            ("2025-01-02T09:35:00-08:00", "2025-01-02T17:35:00Z"),
            ("2025-01-02T17:35:00Z", "2025-01-02T17:35:00Z"),
            ("2025-01-02T17:35:00.250+00:00", "2025-01-02T17:35:00.250Z"),
            ("2025-01-03T02:35:00+09:00", "2025-01-02T17:35:00Z"),
        ];
        for (input, utc) in cases {
            assert_eq!(timestamp(input), Ok(at(utc)), "{input}");
        }
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
