//! The toolkit the broker formats are built from: a whole export read into records with
//! their lines, header rows found by name, a format's fields as [`Column`]s, the draft
//! events a format produces, what it ignored, and the time and fee arithmetic several
//! formats share.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::BuySell;
use crate::domain::{Contract, ExecAction, Money};
use crate::import::reading::{self, BOM, Column, Fields, Header};
use crate::import::{FileError, RowError};

// ---------------------------------------------------------------------------------------
// Records

/// A whole export as CSV records. Broker exports are small (Telegram caps a bot's
/// download at 20 MB) and several formats must look ahead or back (sections, order
/// legs, cancel pairs), so they are read whole.
pub(super) struct Sheet {
    pub records: Vec<Rec>,
    /// The file started with a UTF-8 byte order mark.
    pub bom: bool,
}

/// One CSV record and the line it starts on.
pub(super) struct Rec {
    pub line: u64,
    pub record: csv::ByteRecord,
}

impl Rec {
    /// The `i`th cell, trimmed; empty when the record is shorter.
    pub fn cell(&self, i: usize) -> Cow<'_, str> {
        match self.record.get(i) {
            Some(raw) => match String::from_utf8_lossy(raw) {
                Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
                Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
            },
            None => Cow::Borrowed(""),
        }
    }

    pub fn len(&self) -> usize {
        self.record.len()
    }

    /// Every cell is empty.
    pub fn is_blank(&self) -> bool {
        reading::is_empty_record(&self.record)
    }

    /// How many cells hold something.
    pub fn filled(&self) -> usize {
        self.record
            .iter()
            .filter(|f| !f.trim_ascii().is_empty())
            .count()
    }

    /// The first cell that holds something.
    pub fn first_text(&self) -> Cow<'_, str> {
        (0..self.len())
            .map(|i| self.cell(i))
            .find(|c| !c.is_empty())
            .unwrap_or(Cow::Borrowed(""))
    }

    /// The record's cells as header names: trimmed, lower case.
    pub fn names(&self) -> std::collections::HashSet<String> {
        (0..self.len())
            .map(|i| {
                let cell = self.cell(i);
                cell.strip_prefix('\u{feff}')
                    .unwrap_or(&cell)
                    .trim_ascii()
                    .to_ascii_lowercase()
            })
            .collect()
    }

    /// The record as a header of `F`, when it names every one of `required`. A field
    /// named twice (two spellings of one thing) is read from its first column.
    pub fn header<F: Column>(
        &self,
        named: impl Fn(&str) -> Option<F>,
        required: &[F],
    ) -> Option<Header<F>> {
        let cells: Vec<Cow<'_, str>> = (0..self.len()).map(|i| self.cell(i)).collect();
        let seen = std::cell::RefCell::new(vec![false; F::COUNT]);
        let first = |name: &str| {
            named(name).filter(|f| !std::mem::replace(&mut seen.borrow_mut()[f.index()], true))
        };
        let header = Header::new(cells.iter().map(|c| c.as_ref()), first).ok()?;
        required.iter().all(|f| header.has(*f)).then_some(header)
    }

    /// The cells of `header`'s fields in this record.
    pub fn fields<F: Column>(&self, header: &Header<F>) -> Result<Fields<'_, F>, RowError> {
        header.fields(&self.record, self.line)
    }

    /// A row error on the whole record.
    pub fn error(&self, reason: impl Into<String>) -> RowError {
        RowError {
            line: self.line,
            column: None,
            reason: reason.into(),
        }
    }
}

/// The file has no header row of the format: a sentence listing the names it needs.
pub(super) fn no_header(format: super::FormatName, names: &[&str]) -> FileError {
    FileError::NoHeader {
        format: format.as_str(),
        names: names.join(", "),
    }
}

/// Header names compare trimmed, without a byte order mark, case-insensitive. (Every
/// record is tried as a header, so this stays cheap: ASCII trimming only.)
pub(super) fn same_name(cell: &str, name: &str) -> bool {
    cell.strip_prefix('\u{feff}')
        .unwrap_or(cell)
        .trim_ascii()
        .eq_ignore_ascii_case(name)
}

pub(super) fn read_sheet(bytes: &[u8]) -> Result<Sheet, FileError> {
    Ok(Sheet {
        records: read_head(bytes, usize::MAX)?,
        bom: bytes.starts_with(BOM),
    })
}

/// The first `max` records of a file. A record longer than the longest a format reads
/// refuses the file: an export is read whole, and one with such a line is not one.
pub(super) fn read_head(bytes: &[u8], max: usize) -> Result<Vec<Rec>, FileError> {
    let mut csv = reading::open_csv(bytes)?;
    let mut records = Vec::new();
    let mut record = csv::ByteRecord::new();
    while records.len() < max
        && let Some(next) = csv.next_record(&mut record)
    {
        let line = next.map_err(|e| {
            if e.reason == reading::RECORD_TOO_LONG {
                FileError::RecordTooLong { line: e.line }
            } else {
                FileError::Unreadable(std::io::Error::other(e.reason))
            }
        })?;
        records.push(Rec {
            line,
            record: record.clone(),
        });
    }
    Ok(records)
}

/// Declares a format's fields: an enum, its [`Column`] names (the first spelling, as the
/// broker writes it) and `named`, which maps every known spelling of a header name to
/// its field (trimmed, case-insensitive).
macro_rules! fields {
    ($(#[$doc:meta])* $name:ident { $($field:ident => [$($spelling:literal),+ $(,)?]),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $name {
            $($field),+
        }

        impl $crate::import::reading::Column for $name {
            const COUNT: usize = [$(stringify!($field)),+].len();

            fn index(self) -> usize {
                self as usize
            }

            fn name(self) -> &'static str {
                match self {
                    $($name::$field => [$($spelling),+][0]),+
                }
            }
        }

        impl $name {
            fn named(name: &str) -> Option<Self> {
                $(
                    if [$($spelling),+]
                        .iter()
                        .any(|s| $crate::import::brokers::sheet::same_name(name, s))
                    {
                        return Some($name::$field);
                    }
                )+
                None
            }
        }
    };
}
pub(super) use fields;

// ---------------------------------------------------------------------------------------
// What a format produces

/// Why a row was left out. Every row of a file is an event, a rejected row, or one of
/// these, so a person can check that nothing was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Skip {
    /// A UTF-8 byte order mark before the first line.
    Bom,
    /// Title and account lines before the first header.
    Preamble,
    /// A header row (every section has one; some repeat it).
    Header,
    /// A section title, or a row of a section that holds no executions (balances,
    /// positions, profits and losses, statement information).
    Section,
    /// A row of empty cells.
    Blank,
    /// A running cash balance line.
    Balance,
    Subtotal,
    Total,
    /// A row that restates others: an order that is also given as its executions, a
    /// multi-leg parent, a tax lot, the cash line of a trade given elsewhere.
    Summary,
    /// An order, not a fill (an order history).
    Order,
    Disclaimer,
    Footer,
    /// Shares, funds or anything else that is not an option (assignment stock legs too).
    Stock,
    Dividend,
    Interest,
    /// Money or securities moved in or out, journals.
    Transfer,
    /// A fee or balance adjustment outside a trade.
    Fee,
    /// A cancelled order, or a cancelled trade with the trade it cancels.
    Cancelled,
    /// An order that did not fill.
    Unfilled,
    /// A correction with the trade it corrects.
    Correction,
    /// Symbol changes, splits, mergers: option rows that are not trades.
    CorporateAction,
    /// Futures and other instruments rlhf-bot does not track.
    Futures,
    Other,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::Bom => "bom",
            Skip::Preamble => "preamble",
            Skip::Header => "header",
            Skip::Section => "section",
            Skip::Blank => "blank",
            Skip::Balance => "balance",
            Skip::Subtotal => "subtotal",
            Skip::Total => "total",
            Skip::Summary => "summary",
            Skip::Order => "order",
            Skip::Disclaimer => "disclaimer",
            Skip::Footer => "footer",
            Skip::Stock => "stock",
            Skip::Dividend => "dividend",
            Skip::Interest => "interest",
            Skip::Transfer => "transfer",
            Skip::Fee => "fee",
            Skip::Cancelled => "cancelled",
            Skip::Unfilled => "unfilled",
            Skip::Correction => "correction",
            Skip::CorporateAction => "corporate_action",
            Skip::Futures => "futures",
            Skip::Other => "other",
        }
    }
}

/// What a non-option row is, from its activity words (`DIVIDEND RECEIVED`, `ACH
/// Deposit`, `Sold`, …). Only used for counting, so a wrong guess loses nothing.
pub(super) fn kind_of(words: &str) -> Skip {
    let w = words.to_ascii_lowercase();
    let has = |keys: &[&str]| keys.iter().any(|k| w.contains(k));
    if has(&["dividend", "div ", "cdiv", "reinvest"]) {
        Skip::Dividend
    } else if has(&["interest", "int "]) {
        Skip::Interest
    } else if has(&[
        "transfer",
        "deposit",
        "withdraw",
        "wire",
        "ach",
        "journal",
        "moneylink",
        "funds",
        "contribution",
        "distribution",
    ]) {
        Skip::Transfer
    } else if has(&["fee", "adjustment", "adr ", "commission"]) {
        Skip::Fee
    } else if has(&["split", "merger", "symbol change", "spin"]) {
        Skip::CorporateAction
    } else if has(&[
        "buy", "sell", "bought", "sold", "short", "cover", "purchase", "sale",
    ]) {
        Skip::Stock
    } else {
        Skip::Other
    }
}

/// The trade an event is, or only its side when the format has no open/close flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    Known(ExecAction),
    Side(BuySell),
}

/// What a `broker_ref` is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RefKey {
    /// The broker's own id for this event.
    Id(String),
    /// No id: derived from the event's content, with a broker value that narrows it
    /// (an order number, a placed time) when the format has one.
    Content(Option<String>),
}

/// An event as a format reads it, before refs are given and sides are resolved.
#[derive(Debug, Clone)]
pub(super) struct Draft {
    pub line: u64,
    pub broker_account: Option<String>,
    pub key: RefKey,
    pub executed_at: DateTime<Utc>,
    pub act: Act,
    pub contract: Contract,
    pub contracts: i64,
    pub price: Money,
    pub fees: Money,
}

/// What a format made of one row.
pub(super) enum Outcome {
    Event(Draft),
    Skip(Skip),
}

/// What a format made of a file.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    pub drafts: Vec<Draft>,
    pub ignored: BTreeMap<Skip, u64>,
    pub rejected: Vec<RowError>,
}

impl Parsed {
    /// Starts with the byte order mark counted, if there was one.
    pub fn new(sheet: &Sheet) -> Self {
        let mut parsed = Self::default();
        if sheet.bom {
            parsed.skip(Skip::Bom);
        }
        parsed
    }

    pub fn skip(&mut self, kind: Skip) {
        *self.ignored.entry(kind).or_default() += 1;
    }

    pub fn reject(&mut self, e: RowError) {
        self.rejected.push(e);
    }

    /// Keeps what one row came to.
    pub fn take(&mut self, row: Result<Outcome, RowError>) {
        match row {
            Ok(Outcome::Event(draft)) => self.drafts.push(draft),
            Ok(Outcome::Skip(kind)) => self.skip(kind),
            Err(e) => self.reject(e),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Time

pub(super) const NEW_YORK: Tz = chrono_tz::America::New_York;

/// Date-only rows happen at that day's market close in New York.
pub(super) fn at_close(date: NaiveDate) -> DateTime<Utc> {
    let close = NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default();
    // 16:00 exists on every day in New York (clocks change at 02:00).
    in_zone(date.and_time(close), NEW_YORK).unwrap_or_else(|_| date.and_time(close).and_utc())
}

/// A wall-clock time in `tz`. In the autumn's repeated hour the earlier instant is
/// taken; a time in the spring's skipped hour does not exist and is an error.
pub(super) fn in_zone(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, String> {
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            format!(
                "`{}` does not exist in {} (the clocks went forward that night)",
                local.format("%Y-%m-%d %H:%M:%S"),
                tz.name()
            )
        })
}

/// The US zone a time-zone abbreviation names (`EST`, `CDT`, …).
pub(super) fn us_zone(abbreviation: &str) -> Option<Tz> {
    match abbreviation.to_ascii_uppercase().as_str() {
        "EST" | "EDT" | "ET" => Some(NEW_YORK),
        "CST" | "CDT" | "CT" => Some(chrono_tz::America::Chicago),
        "MST" | "MDT" | "MT" => Some(chrono_tz::America::Denver),
        "PST" | "PDT" | "PT" => Some(chrono_tz::America::Los_Angeles),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Fees

/// Splits `total` across legs in proportion to their contracts, exactly: the units a
/// proportional split leaves over go one each to the first legs.
pub(super) fn split_by_contracts(total: Money, contracts: &[i64]) -> Vec<Money> {
    let weight: i128 = contracts.iter().map(|c| i128::from(c.abs())).sum();
    if weight == 0 {
        return contracts.iter().map(|_| Money::ZERO).collect();
    }
    let units = i128::from(total.units());
    let mut shares: Vec<i128> = contracts
        .iter()
        .map(|c| units * i128::from(c.abs()) / weight)
        .collect();
    let mut left = units - shares.iter().sum::<i128>();
    let step = left.signum();
    for share in shares.iter_mut() {
        if left == 0 {
            break;
        }
        *share += step;
        left -= step;
    }
    shares
        .into_iter()
        .map(|s| Money::from_units(i64::try_from(s).unwrap_or_default()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn a_fee_splits_by_contracts_and_sums_back_exactly() {
        assert_eq!(
            split_by_contracts(m("1.32"), &[1, 1]),
            vec![m("0.66"), m("0.66")]
        );
        assert_eq!(
            split_by_contracts(m("1.00"), &[1, 2]),
            vec![m("0.3334"), m("0.6666")]
        );
        let parts = split_by_contracts(m("0.0007"), &[3, 3, 3]);
        assert_eq!(parts.iter().copied().sum::<Money>(), m("0.0007"));
        assert_eq!(split_by_contracts(m("1"), &[0]), vec![Money::ZERO]);
    }

    #[test]
    fn date_only_rows_sit_at_the_new_york_close_in_winter_and_summer() {
        let day = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            at_close(day("2025-01-06")).to_rfc3339(),
            "2025-01-06T21:00:00+00:00"
        );
        assert_eq!(
            at_close(day("2025-07-07")).to_rfc3339(),
            "2025-07-07T20:00:00+00:00"
        );
    }

    #[test]
    fn a_time_in_the_skipped_hour_is_an_error() {
        let t = NaiveDate::from_ymd_opt(2025, 3, 9)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert!(in_zone(t, NEW_YORK).unwrap_err().contains("does not exist"));
    }
}
