//! File formats in: each format turns a file into a stream of parsed rows, one module per
//! format. Parsing is pure; the caller stores the good rows and reports the bad ones by
//! line, so one bad row never stops the rest of a file.
//!
//! - `reading`: framing shared by every format (CSV or JSON Lines, BOMs, blank lines,
//!   line numbers, header names to columns);
//! - `values`: the value parsers shared by every format (money, strikes, dates, …);
//! - [`generic`]: the project's own columns (SPEC §10);
//! - [`brokers`]: broker exports (Schwab, thinkorswim, Fidelity, IBKR, tastytrade,
//!   Robinhood, Webull, E*TRADE), read whole into option events;
//! - [`load`]: storing a parsed file.

pub mod brokers;
pub mod generic;
pub(crate) mod reading;
pub(crate) mod values;

use std::fmt;
use std::io::Read;

use crate::domain::{Execution, PriceClose, Recommendation};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Recommendations,
    Executions,
    Prices,
}

impl ImportKind {
    /// The contract spelling, as on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Recommendations => "recommendations",
            ImportKind::Executions => "executions",
            ImportKind::Prices => "prices",
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a file is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ImportFormat {
    /// Detected from the content: the generic columns or a broker's export.
    Auto,
    /// The generic columns (see the README), as CSV with a header row or as JSON Lines.
    #[default]
    Generic,
    /// Charles Schwab "History" export (current and legacy layouts).
    Schwab,
    /// thinkorswim "Account Statement" export.
    #[value(alias = "tos")]
    Thinkorswim,
    /// Fidelity "Activity & Orders → History" download (single and all accounts).
    Fidelity,
    /// Interactive Brokers Activity Statement or Flex Query CSV.
    #[value(alias = "interactive-brokers")]
    Ibkr,
    /// tastytrade / tastyworks transactions (2024+, 2021 web, desktop).
    #[value(alias = "tastyworks")]
    Tastytrade,
    /// Robinhood "Account activity" report.
    Robinhood,
    /// Webull options orders export.
    Webull,
    /// E*TRADE transaction history (legacy and 2025 layouts).
    #[value(alias = "e-trade")]
    Etrade,
}

/// One good row, as a domain value.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Recommendation(Recommendation),
    Execution(Execution),
    Price(PriceClose),
}

/// A bad row: its 1-based line in the file (for CSV the header is line 1; a record that
/// spans lines is reported at the line where it starts), the column at fault when it is
/// one column, and a one-sentence reason that names the value and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("line {line}{}: {reason}", column_part(.column))]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

fn column_part(column: &Option<String>) -> String {
    column
        .as_ref()
        .map(|c| format!(", column {c}"))
        .unwrap_or_default()
}

/// A problem with the whole file: nothing in it can be imported.
/// Whether a file's first bytes are UTF-16 text: a UTF-16 byte-order mark, or a zero
/// byte in every other place of its first characters (ASCII written as UTF-16).
pub fn looks_utf16(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return true;
    }
    let head = &bytes[..bytes.len().min(64)];
    let zero = |skip: usize| head.iter().skip(skip).step_by(2).all(|b| *b == 0);
    let none = |skip: usize| head.iter().skip(skip).step_by(2).all(|b| *b != 0);
    head.len() >= 8 && ((zero(0) && none(1)) || (zero(1) && none(0)))
}

/// Checks a whole file before its format is detected: empty, or UTF-16.
pub fn check_text(bytes: &[u8]) -> Result<(), FileError> {
    let content = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err(FileError::Empty);
    }
    if looks_utf16(bytes) {
        return Err(FileError::Utf16);
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file could not be read: {0}")]
    Unreadable(#[from] std::io::Error),
    #[error("the file is empty (expected a CSV header row or JSON Lines)")]
    Empty,
    #[error("the header row is not UTF-8 text (save the file as UTF-8)")]
    HeaderNotUtf8,
    #[error(
        "the file is UTF-16 text; save it as UTF-8 (in a spreadsheet, \"CSV UTF-8\") and \
         import it again"
    )]
    Utf16,
    #[error(
        "the header row (line {line}) is longer than 64 KiB, more than any header holds; \
         a CSV file has one row per line, so check that this is the right file"
    )]
    HeaderTooLong { line: u64 },
    #[error(
        "line {line} is longer than 2 MiB, more than any row of an export holds; check that \
         this is the right file"
    )]
    RecordTooLong { line: u64 },
    #[error(
        "the file is {size} MiB, and an export read whole may be at most {limit} MiB; split it \
         by date range (the generic columns are streamed at any size)"
    )]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "the header is separated by {delimiter}, not commas; save the file as comma-separated \
         CSV (in a spreadsheet, \"CSV UTF-8 (comma delimited)\") and import it again"
    )]
    Delimiter { delimiter: &'static str },
    #[error("the header has no `{column}` column (required for {kind})")]
    MissingColumn {
        column: &'static str,
        kind: ImportKind,
    },
    #[error(
        "the header has no `{column}` column and no `symbol` column (executions need \
         underlying, right, strike and expiration, or an OCC symbol in `symbol`)"
    )]
    MissingContractColumn { column: &'static str },
    #[error("the header has more than one `{column}` column")]
    DuplicateColumn { column: &'static str },
    #[error("the file has no {format} header row (expected the columns {names})")]
    NoHeader { format: &'static str, names: String },
    #[error(
        "a {format} export holds executions: import it with `rlhf-bot import executions FILE` \
         (`--format {format}` is for executions only)"
    )]
    BrokerExport { format: &'static str },
}

/// One row of a file, good or bad, with its line.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRow {
    pub line: u64,
    pub result: Result<Record, RowError>,
}

/// Streams the rows of `input`, in file order, holding one row at a time.
///
/// The generic format is CSV with a header row, unless the first non-blank byte is `{`,
/// which makes it JSON Lines, or `[`, which makes it a JSON array of objects. Problems with the whole file (unreadable, empty, a required
/// column missing from the header) are returned here; problems with a row come out as
/// that row's `RowError` and reading goes on.
pub fn read_rows<R: Read + 'static>(
    kind: ImportKind,
    format: ImportFormat,
    input: R,
) -> Result<Box<dyn Iterator<Item = ParsedRow>>, FileError> {
    match format.format_name() {
        // Row by row, only the generic columns are read; `auto` means them here.
        None | Some(brokers::FormatName::Generic) => generic::read_rows(kind, input),
        Some(broker) => Err(FileError::BrokerExport {
            format: broker.as_str(),
        }),
    }
}
