//! Broker exports in: the files traders download from their brokers, read into option
//! events (SPEC §8, issue 11; the formats are digested in `shared/brokers/FORMATS.md`).
//! Parsing is pure: the bytes, the file's name and the positions already known for the
//! account (and, with [`parse_over`], its executions stored from the file's first event
//! on) in; a [`BrokerFile`] out (and the [`Correction`]s of stored fills whose open or
//! close the file's events change). Storing it, and deciding which Telegram chat it
//! belongs to, is the application layer's job.
//!
//! # Using it
//!
//! [`parse_any`]`(format, bytes, file_name, &known)` with [`ImportFormat::Auto`] detects
//! the format ([`detect`]) and reads it; a forced format skips detection. `known` holds
//! the account's net positions just before the file's first event and only matters for
//! formats without an open/close flag (Webull, E*TRADE's bare `Bought`/`Sold`); a file
//! of an earlier date range than some stored ones is read with [`parse_over`], which
//! infers the stored executions after its first event again with it. The
//! result serialises to the dry-run JSON of SPEC §10; [`BrokerExecution::to_execution`]
//! gives the store's [`Execution`] once the chat is known.
//!
//! # Formats
//!
//! Each is detected by a row that names every column of one of its signatures (header
//! names, trimmed, any case); when several match, the longest signature wins.
//!
//! | format | detected by a row naming | what is taken |
//! |---|---|---|
//! | `generic` | `broker_ref, executed_at, action, contracts` (or a first `{`: JSON Lines) | every row, as SPEC §10 says; its `account` is the chat |
//! | `schwab` | `Date, Action, Symbol, Description, Quantity, Price, Fees & Comm, Amount` | `Date` (the `as of` date when given), `Action`, `Symbol` (`AAPL 01/17/2025 230.00 P`), `Quantity`, `Price`, `Fees & Comm`; account from the legacy title or the file name |
//! | `thinkorswim` | `DATE, TIME, TYPE, REF #, DESCRIPTION, Misc Fees, Commissions & Fees, AMOUNT, BALANCE` or `Exec Time, Spread, Side, Qty, Pos Effect, Symbol, Exp, Strike, Type, Price, Net Price` | legs from `Account Trade History`; fees and `REF #` from the matching `Cash Balance` `TRD` line; `RAD` lines for expirations, assignments, exercises; zone from the `BAL` lines; account from `Account Statement for …` |
//! | `fidelity` | `Run Date, Action, Symbol, Quantity` | `Run Date` (the `as of` date in `Action` when given), `Action` words, `Symbol` (` -AAPL250117P230`), `Quantity`, `Price ($)`, `Commission ($)` + `Fees ($)`, `Account Number`; account from the file name otherwise |
//! | `ibkr` | `Statement, Header, Field Name, Field Value`, or `Trades, Header, Symbol, Date/Time, Quantity, T. Price`, or `Buy/Sell, Quantity` with one of `ClientAccountID`, `AssetClass`, `Put/Call`, `IBExecID`, `TradeID`, `Open/CloseIndicator` (Flex) | Activity Statement: `Trades` rows of option categories (`Trade` rows, else `Order` rows), `Symbol`, `Date/Time` (New York), `Quantity`, `T. Price`, `Comm/Fee`, `Code`, `Account`; Flex: the same by Flex names, ids as refs |
//! | `tastytrade` | `Date, Type, Action, Symbol, Instrument Type, Description, Value, Quantity, Average Price, Commissions, Fees, Multiplier` or `Date/Time, Transaction Code, Transaction Subcode, Symbol, Buy/Sell, Open/Close, Quantity, Expiration Date, Strike, Call/Put, Price, Fees` | web: `Date` (with its offset), `Sub Type` / `Action` / `Description`, padded OCC `Symbol` (else the contract columns), `Quantity`, `Average Price` ÷ `Multiplier`, `Commissions` + `Fees`, `Order #` in the ref; desktop: the same by its names, times in New York, `Account Reference` |
//! | `robinhood` | `Activity Date, Process Date, Settle Date, Instrument, Description, Trans Code, Quantity, Price, Amount` | `Activity Date`, `Trans Code`, the contract in `Description`, `Quantity` (`1S`), `Price`; fees from `Amount` |
//! | `webull` | `Name, Symbol, Side, Status, Filled, Total Qty, Price, Avg Price, Filled Time` | orders that filled: leg rows, `Symbol` (or the contract in words), `Side`, `Filled`, `Avg Price`, `Filled Time` (EST/EDT); open or close from the running position; no fees |
//! | `etrade` | `TransactionDate, TransactionType, SecurityType, Symbol, Quantity, Amount, Price, Commission, Description` or `Activity/Trade Date, Transaction Date, Settlement Date, Activity Type, Description, Symbol, Quantity #, Price $, Amount $` | the date, the activity words, the contract in `Symbol` or `Description` (`COF Mar 21 '25 $210 Call`, `PUT  IWM    02/27/26   260.000`), `Quantity`, `Price`, `Commission`; account from the preamble |
//!
//! What every format shares: columns are found by header name, never position; byte
//! order marks, preambles, section titles, headers, subtotals, totals, disclaimers and
//! footers are skipped and counted ([`BrokerFile::ignored`]); only option events come
//! out and everything else is counted by kind (`stock`, `dividend`, `interest`,
//! `transfer`, `fee`, `cancelled`, `correction`, `corporate_action`, `summary`, …);
//! a cancelled trade leaves with the trade it cancels; date-only rows happen at 16:00
//! America/New_York that day; expirations, assignments and exercises carry their
//! effective date, never one after the contract's expiration; prices are per share;
//! fees are positive and the row's own (an order's fees given once are split over its
//! legs by contracts); a `broker_ref` is the broker's id where it has one, otherwise
//! the event's content and its ordinal among identical events, so overlapping
//! downloads give the overlap the same refs.

mod etrade;
mod fidelity;
mod ibkr;
mod robinhood;
mod schwab;
mod sheet;
mod tastytrade;
mod thinkorswim;
mod webull;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};

use self::sheet::{Act, Draft, Parsed, RefKey};
use super::{FileError, ImportFormat, ImportKind, Record, RowError};
use crate::domain::calendar::day_of;
use crate::domain::{AccountId, Contract, ExecAction, Execution, Money};

// ---------------------------------------------------------------------------------------
// Public types

/// A file layout rlhf-bot reads executions from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormatName {
    /// The project's own columns (SPEC §10), CSV or JSON Lines.
    Generic,
    Schwab,
    Thinkorswim,
    Fidelity,
    Ibkr,
    Tastytrade,
    Robinhood,
    Webull,
    Etrade,
}

impl FormatName {
    pub const ALL: [FormatName; 9] = [
        FormatName::Generic,
        FormatName::Schwab,
        FormatName::Thinkorswim,
        FormatName::Fidelity,
        FormatName::Ibkr,
        FormatName::Tastytrade,
        FormatName::Robinhood,
        FormatName::Webull,
        FormatName::Etrade,
    ];

    /// The name on the command line (`--format NAME`) and in JSON; a broker format's
    /// name is also the `broker` of its executions.
    pub fn as_str(self) -> &'static str {
        match self {
            FormatName::Generic => "generic",
            FormatName::Schwab => "schwab",
            FormatName::Thinkorswim => "thinkorswim",
            FormatName::Fidelity => "fidelity",
            FormatName::Ibkr => "ibkr",
            FormatName::Tastytrade => "tastytrade",
            FormatName::Robinhood => "robinhood",
            FormatName::Webull => "webull",
            FormatName::Etrade => "etrade",
        }
    }

    /// The header names that identify the format, one list per layout.
    fn signatures(self) -> &'static [&'static [&'static str]] {
        match self {
            FormatName::Generic => &[&["broker_ref", "executed_at", "action", "contracts"]],
            FormatName::Schwab => schwab::SIGNATURES,
            FormatName::Robinhood => robinhood::SIGNATURES,
            FormatName::Fidelity => fidelity::SIGNATURES,
            FormatName::Tastytrade => tastytrade::SIGNATURES,
            FormatName::Ibkr => ibkr::SIGNATURES,
            FormatName::Thinkorswim => thinkorswim::SIGNATURES,
            FormatName::Webull => webull::SIGNATURES,
            FormatName::Etrade => etrade::SIGNATURES,
        }
    }
}

impl fmt::Display for FormatName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FormatName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl ImportFormat {
    /// The format this choice names; `None` for `auto`, which detects it.
    pub fn format_name(self) -> Option<FormatName> {
        match self {
            ImportFormat::Auto => None,
            ImportFormat::Generic => Some(FormatName::Generic),
            ImportFormat::Schwab => Some(FormatName::Schwab),
            ImportFormat::Thinkorswim => Some(FormatName::Thinkorswim),
            ImportFormat::Fidelity => Some(FormatName::Fidelity),
            ImportFormat::Ibkr => Some(FormatName::Ibkr),
            ImportFormat::Tastytrade => Some(FormatName::Tastytrade),
            ImportFormat::Robinhood => Some(FormatName::Robinhood),
            ImportFormat::Webull => Some(FormatName::Webull),
            ImportFormat::Etrade => Some(FormatName::Etrade),
        }
    }
}

/// Buy or sell, for formats that do not say whether a trade opens or closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuySell {
    Buy,
    Sell,
}

/// Net open contracts per contract for one account: positive long, negative short.
pub type Positions = BTreeMap<Contract, i64>;

/// One option event read from a broker export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerExecution {
    /// The Telegram chat the event belongs to: unknown to a broker file (the
    /// application layer assigns it); the generic format names it in each row.
    pub account: Option<AccountId>,
    pub broker: String,
    /// The broker's account as the file names it, if it does.
    pub broker_account: Option<String>,
    pub broker_ref: String,
    pub executed_at: DateTime<Utc>,
    pub action: ExecAction,
    pub contract: Contract,
    pub contracts: i64,
    /// Per share; zero for expirations, assignments and exercises.
    pub price: Money,
    /// Every commission and fee of the event, positive.
    pub fees: Money,
    /// The line of the file the event was read from (not part of the JSON).
    pub line: u64,
    /// The ref of the fill this is a leg of, when its open or close was inferred from
    /// the running position (a fill crossing zero gives two legs, `REF/close` and
    /// `REF/open`); `None` when the export said open or close (not part of the JSON).
    pub inferred_fill: Option<String>,
}

impl BrokerExecution {
    /// The event as the store takes it, in the chat `account`.
    pub fn to_execution(&self, account: AccountId) -> Execution {
        Execution {
            account,
            broker: self.broker.clone(),
            broker_ref: self.broker_ref.clone(),
            executed_at: self.executed_at,
            action: self.action,
            contract: self.contract.clone(),
            contracts: self.contracts,
            price: self.price,
            fees: self.fees,
        }
    }
}

/// An execution already stored in the chat a file lands in, as the inference reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeg {
    /// Its row id.
    pub id: i64,
    pub execution: Execution,
    /// The fill it is a leg of, when its open or close was inferred from the running
    /// position (see [`BrokerExecution::inferred_fill`]); `None` when its export said.
    pub inferred_fill: Option<String>,
}

/// A stored fill whose open or close a file's events change (they come before it and
/// were not stored when it was inferred): its legs as stored, and as they should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// The fill's ref (its legs' refs, or the ref their `/close` and `/open` extend).
    pub fill: String,
    /// In the order stored.
    pub before: Vec<StoredLeg>,
    /// Close first, as a file's fill gives them.
    pub after: Vec<Execution>,
}

/// The dry-run shape of SPEC §10: money as decimal strings, `executed_at` RFC 3339.
impl Serialize for BrokerExecution {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("BrokerExecution", 13)?;
        s.serialize_field("account", &self.account)?;
        s.serialize_field("broker", &self.broker)?;
        s.serialize_field("broker_account", &self.broker_account)?;
        s.serialize_field("broker_ref", &self.broker_ref)?;
        s.serialize_field(
            "executed_at",
            &self
                .executed_at
                .to_rfc3339_opts(SecondsFormat::AutoSi, true),
        )?;
        s.serialize_field("action", self.action.as_str())?;
        s.serialize_field("underlying", &self.contract.underlying)?;
        s.serialize_field("right", self.contract.right.as_str())?;
        s.serialize_field("strike", &self.contract.strike)?;
        s.serialize_field(
            "expiration",
            &self.contract.expiration.format("%Y-%m-%d").to_string(),
        )?;
        s.serialize_field("contracts", &self.contracts)?;
        s.serialize_field("price", &self.price)?;
        s.serialize_field("fees", &self.fees)?;
        s.end()
    }
}

/// A whole export, read: its option events, what was left out by kind, and the rows
/// that could not be read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokerFile {
    pub format: FormatName,
    /// In time order.
    pub executions: Vec<BrokerExecution>,
    /// Rows (and marks) left out, by kind: `stock`, `dividend`, `header`, `total`, …
    pub ignored: BTreeMap<String, u64>,
    /// By line.
    pub rejected: Vec<RowError>,
}

/// A file that matches no format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DetectError {
    closest: Option<(FormatName, Vec<&'static str>)>,
    /// The separator the file uses instead of commas, when that is why nothing matched.
    delimiter: Option<&'static str>,
}

impl fmt::Display for DetectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(delimiter) = self.delimiter {
            return write!(
                f,
                "{}",
                FileError::Delimiter { delimiter }.to_string().replacen(
                    "the header is",
                    "the file's header is",
                    1
                )
            );
        }
        let known: Vec<&str> = FormatName::ALL.iter().map(|n| n.as_str()).collect();
        write!(
            f,
            "the file is not an export rlhf-bot knows (it reads {})",
            known.join(", ")
        )?;
        match &self.closest {
            Some((format, missing)) => {
                let missing: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
                write!(
                    f,
                    "; the closest is {format}, but its header lacks {} (pass --format {format} to read it anyway)",
                    missing.join(", ")
                )
            }
            None => f.write_str("; nothing in it looks like any of them"),
        }
    }
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error(transparent)]
    Detect(#[from] DetectError),
    #[error(transparent)]
    File(#[from] FileError),
}

// ---------------------------------------------------------------------------------------
// Entry points

/// How much of a file detection reads: its headers are near the top.
pub const DETECT_BYTES: usize = 1 << 20;

/// Picks the format of an export from its content (its first [`DETECT_BYTES`]).
/// Detects a file's format, after checking it is text a format can be (not empty, not
/// UTF-16): what every import of a whole file asks.
pub fn detect_file(bytes: &[u8]) -> Result<FormatName, ParseError> {
    crate::import::check_text(bytes)?;
    Ok(detect(bytes)?)
}

pub fn detect(bytes: &[u8]) -> Result<FormatName, DetectError> {
    let first = bytes
        .strip_prefix(super::reading::BOM)
        .unwrap_or(bytes)
        .iter()
        .find(|b| !super::reading::is_blank(**b));
    if matches!(first, Some(b'{' | b'[')) {
        return Ok(FormatName::Generic);
    }
    // Headers sit near the top; a preamble or a leading section is a few dozen lines,
    // in far less than the first MiB.
    const LOOK: usize = 400;
    let head = &bytes[..bytes.len().min(DETECT_BYTES)];
    let records: Vec<HashSet<String>> = sheet::read_head(head, LOOK)
        .unwrap_or_default()
        .iter()
        .map(sheet::Rec::names)
        .collect();
    let has = |names: &HashSet<String>, name: &str| names.contains(&name.to_ascii_lowercase());
    // The most names of `signature` one row has.
    let matched = |signature: &[&str]| {
        records
            .iter()
            .map(|names| signature.iter().filter(|n| has(names, n)).count())
            .max()
            .unwrap_or(0)
    };
    let mut full: Option<(FormatName, usize)> = None;
    let mut best: Option<(FormatName, &[&str], usize)> = None; // format, signature, matched
    for format in FormatName::ALL {
        for signature in format.signatures() {
            let hits = matched(signature);
            if hits == signature.len() {
                if full.is_none_or(|(_, len)| signature.len() > len) {
                    full = Some((format, signature.len()));
                }
            } else if best.is_none_or(|(_, sig, m)| hits * sig.len() > m * signature.len()) {
                best = Some((format, signature, hits));
            }
        }
    }
    if let Some((format, _)) = full {
        return Ok(format);
    }
    // A signature whole in one row split on another separator: say that, not "unknown".
    let delimiter = [
        (';', "semicolons"),
        ('\t', "tabs"),
        ('|', "vertical bars (|)"),
    ]
    .into_iter()
    .find(|(sep, _)| {
        records.iter().any(|names| {
            let row = names
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(",");
            let split: HashSet<String> = row
                .split(*sep)
                .map(|c| c.trim().to_ascii_lowercase())
                .collect();
            FormatName::ALL.iter().any(|format| {
                format
                    .signatures()
                    .iter()
                    .any(|signature| signature.iter().all(|n| has(&split, n)))
            })
        })
    })
    .map(|(_, name)| name);
    if let Some(delimiter) = delimiter {
        return Err(DetectError {
            closest: None,
            delimiter: Some(delimiter),
        });
    }
    // Half a signature is a resemblance worth naming; less is noise.
    let closest = best
        .filter(|(_, signature, hits)| hits * 2 >= signature.len())
        .map(|(format, signature, _)| {
            let missing = signature
                .iter()
                .filter(|n| !records.iter().any(|names| has(names, n)))
                .copied()
                .collect();
            (format, missing)
        });
    Err(DetectError {
        closest,
        delimiter: None,
    })
}

/// Reads an export in a known format. `file_name` is where some brokers keep the
/// account (Fidelity `History_for_Account_X12345678-3.csv`, Schwab
/// `Individual_XXX000_Transactions_…`). `known` is the account's net positions just
/// before the file's first event, from which open and close are inferred where the
/// format does not say (Webull): pass the positions of the executions stored before
/// the file's first `executed_at` (parse once with no positions to learn it), or use
/// [`parse_over`] to infer the stored executions after it again too.
pub fn parse(
    format: FormatName,
    bytes: &[u8],
    file_name: Option<&str>,
    known: &Positions,
) -> Result<BrokerFile, FileError> {
    parse_over(format, bytes, file_name, known, &[]).map(|(file, _)| file)
}

/// [`parse`] into an account that holds `stored` executions at or after the file's
/// first event (every one of them, in time order, then by row id). Open and close are
/// inferred through the file's events and the stored ones together, as if the account's
/// history from the first event on were one file: a stored fill whose open or close
/// was inferred without the file's earlier events comes back as a [`Correction`] when
/// its legs change, and a row of the file that is a stored fill gets that fill's legs
/// (so storing it again finds it a duplicate). A row whose ref is stored with other
/// values is refused. A generic file says every action: it has no corrections.
pub fn parse_over(
    format: FormatName,
    bytes: &[u8],
    file_name: Option<&str>,
    known: &Positions,
    stored: &[StoredLeg],
) -> Result<(BrokerFile, Vec<Correction>), FileError> {
    let sheet = match format {
        FormatName::Generic => return Ok((parse_generic(bytes)?, Vec::new())),
        _ => sheet::read_sheet(bytes)?,
    };
    let parsed = match format {
        FormatName::Generic => Parsed::default(),
        FormatName::Schwab => schwab::parse(&sheet, file_name)?,
        FormatName::Robinhood => robinhood::parse(&sheet)?,
        FormatName::Fidelity => fidelity::parse(&sheet, file_name)?,
        FormatName::Tastytrade => tastytrade::parse(&sheet)?,
        FormatName::Ibkr => ibkr::parse(&sheet)?,
        FormatName::Thinkorswim => thinkorswim::parse(&sheet)?,
        FormatName::Webull => webull::parse(&sheet)?,
        FormatName::Etrade => etrade::parse(&sheet)?,
    };
    Ok(finish(format, parsed, known, stored))
}

/// The stored fills of an account whose open or close, inferred from the running
/// position, changes when read again from `known` (its net positions just before the
/// first of `stored`) through `stored` (every execution at or after that instant, in
/// time order, then by row id): what a file of stated actions (the generic format)
/// changes once its rows are stored among them.
pub fn reinfer(known: &Positions, stored: &[StoredLeg]) -> Vec<Correction> {
    finish(FormatName::Generic, Parsed::default(), known, stored).1
}

/// Reads an export in the format chosen (`auto` detects it from the content).
pub fn parse_any(
    format: ImportFormat,
    bytes: &[u8],
    file_name: Option<&str>,
    known: &Positions,
) -> Result<BrokerFile, ParseError> {
    let format = match format.format_name() {
        Some(format) => format,
        None => detect(bytes)?,
    };
    Ok(parse(format, bytes, file_name, known)?)
}

/// Which trades open and which close, for rows that only say buy or sell.
///
/// `known` is the net position per contract before the first row; `fills` are the
/// rows in time order: (contract, side, contracts). A buy closes a short position
/// first and opens a long with the rest; a sell closes a long first and opens a short
/// with the rest. Each row gives one leg, or two when it crosses through zero.
pub fn infer_open_close(
    known: &Positions,
    fills: &[(Contract, BuySell, i64)],
) -> Vec<Vec<(ExecAction, i64)>> {
    let mut positions = known.clone();
    fills
        .iter()
        .map(|(contract, side, contracts)| {
            step(&mut positions, contract, Act::Side(*side), *contracts)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// From drafts to events

/// Moves `positions` by one event and says what it was.
fn step(
    positions: &mut Positions,
    contract: &Contract,
    act: Act,
    contracts: i64,
) -> Vec<(ExecAction, i64)> {
    let position = positions.entry(contract.clone()).or_default();
    let legs = match act {
        Act::Known(action) => vec![(action, contracts)],
        Act::Side(side) => {
            let (against, close, open) = match side {
                BuySell::Buy => (-*position, ExecAction::BuyToClose, ExecAction::BuyToOpen),
                BuySell::Sell => (*position, ExecAction::SellToClose, ExecAction::SellToOpen),
            };
            let closing = contracts.min(against.max(0));
            [(close, closing), (open, contracts - closing)]
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .collect()
        }
    };
    for (action, n) in &legs {
        *position = match action {
            ExecAction::SellToOpen | ExecAction::SellToClose => *position - n,
            ExecAction::BuyToOpen | ExecAction::BuyToClose => *position + n,
            // A position's life ends toward zero, never past it.
            ExecAction::Expired | ExecAction::Assigned | ExecAction::Exercised => {
                if *position > 0 {
                    (*position - n).max(0)
                } else {
                    (*position + n).min(0)
                }
            }
        };
    }
    legs
}

/// A stored fill as the inference reads it: its legs together, with what it was.
struct StoredFill<'a> {
    legs: Vec<&'a StoredLeg>,
    act: Act,
    contracts: i64,
    fees: Money,
}

impl StoredFill<'_> {
    fn first(&self) -> &Execution {
        &self.legs[0].execution
    }
}

/// The buy or sell a trade was, whatever it opened or closed; `None` for an
/// expiration, assignment or exercise.
fn side_of(action: ExecAction) -> Option<BuySell> {
    match action {
        ExecAction::BuyToOpen | ExecAction::BuyToClose => Some(BuySell::Buy),
        ExecAction::SellToOpen | ExecAction::SellToClose => Some(BuySell::Sell),
        ExecAction::Expired | ExecAction::Assigned | ExecAction::Exercised => None,
    }
}

/// The stored executions as fills, in the order given: an inferred fill's legs
/// together under `(broker, fill)`, any other row alone under `(broker, broker_ref)`.
fn stored_fills(stored: &[StoredLeg]) -> (Vec<StoredFill<'_>>, HashMap<(&str, &str), usize>) {
    let mut fills: Vec<StoredFill<'_>> = Vec::new();
    let mut by_key: HashMap<(&str, &str), usize> = HashMap::new();
    for leg in stored {
        let e = &leg.execution;
        let side = side_of(e.action);
        let (key, act) = match (&leg.inferred_fill, side) {
            (Some(fill), Some(side)) => ((e.broker.as_str(), fill.as_str()), Act::Side(side)),
            _ => (
                (e.broker.as_str(), e.broker_ref.as_str()),
                Act::Known(e.action),
            ),
        };
        match by_key.get(&key) {
            Some(&i) if matches!(act, Act::Side(_)) => {
                let fill = &mut fills[i];
                fill.legs.push(leg);
                fill.contracts += e.contracts;
                fill.fees = Money::from_units(fill.fees.units() + e.fees.units());
            }
            _ => {
                by_key.insert(key, fills.len());
                fills.push(StoredFill {
                    legs: vec![leg],
                    act,
                    contracts: e.contracts,
                    fees: e.fees,
                });
            }
        }
    }
    (fills, by_key)
}

/// The legs one event gives: each with its ref (the event's own, or `REF/close` and
/// `REF/open` when it crosses zero), action, size and share of the fees.
fn legs_of(
    base: &str,
    legs: Vec<(ExecAction, i64)>,
    fees: Money,
) -> Vec<(String, ExecAction, i64, Money)> {
    let split = legs.len() > 1;
    let shares = sheet::split_by_contracts(fees, &legs.iter().map(|(_, n)| *n).collect::<Vec<_>>());
    legs.into_iter()
        .zip(shares)
        .map(|((action, contracts), fees)| {
            let broker_ref = if split {
                let part = if action.is_open() { "open" } else { "close" };
                format!("{base}/{part}")
            } else {
                base.to_owned()
            };
            (broker_ref, action, contracts, fees)
        })
        .collect()
}

/// Where an event falls in the merged timeline: its instant, then the file's rows by
/// line before the stored fills by row id.
type Order = (DateTime<Utc>, u8, u64);

/// One event of the merged timeline: a row of the file (with the stored fill it is,
/// when it is stored already), or a stored fill the file does not hold.
enum Event {
    File {
        draft: usize,
        stored: Option<usize>,
        moves: bool,
    },
    Stored(usize),
}

/// Gives every draft its action, date and ref, in time order, moving the positions
/// from `known` through the file's events and the `stored` ones at or after its first
/// (see [`parse_over`]); the stored fills whose legs that changes.
fn finish(
    format: FormatName,
    parsed: Parsed,
    known: &Positions,
    stored: &[StoredLeg],
) -> (BrokerFile, Vec<Correction>) {
    let Parsed {
        mut drafts,
        ignored,
        mut rejected,
    } = parsed;
    let broker = format.as_str();
    // Refs come first, from each row as the file gives it, so they do not depend on
    // what the positions make of it.
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_line: Vec<usize> = (0..drafts.len()).collect();
    by_line.sort_by_key(|i| drafts[*i].line);
    let mut refs = vec![String::new(); drafts.len()];
    for i in by_line {
        let d = &drafts[i];
        let base = match &d.key {
            RefKey::Id(id) => id.clone(),
            RefKey::Content(hint) => content_key(d, hint.as_deref()),
        };
        let n = seen.entry(base.clone()).or_default();
        *n += 1;
        refs[i] = match (&d.key, *n) {
            (RefKey::Id(_), 1) => base,
            _ => format!("{base}#{n}"),
        };
    }
    // The stored fills, and which of them the file holds again: the same fill moves
    // the positions once. A fill stored with other values stays as stored (its row in
    // the file is refused, as a conflicting row always is).
    let (fills, by_key) = stored_fills(stored);
    let mut in_file = vec![false; fills.len()];
    let mut timeline: Vec<(Order, Event)> = Vec::with_capacity(drafts.len() + fills.len());
    for (i, d) in drafts.iter().enumerate() {
        let found = by_key.get(&(broker, refs[i].as_str())).copied();
        let event = match found.map(|j| (j, &fills[j])) {
            None => Event::File {
                draft: i,
                stored: None,
                moves: true,
            },
            Some((j, fill)) => {
                let e = fill.first();
                match (d.act, fill.act) {
                    (Act::Side(side), Act::Side(stored_side))
                        if side == stored_side
                            && d.executed_at == e.executed_at
                            && d.contract == e.contract
                            && d.contracts == fill.contracts
                            && d.price == e.price
                            && d.fees == fill.fees =>
                    {
                        // One fill: it moves the position here, once.
                        in_file[j] = true;
                        Event::File {
                            draft: i,
                            stored: Some(j),
                            moves: true,
                        }
                    }
                    // The store tells a duplicate from a conflict; the stored row moves.
                    (Act::Known(_), Act::Known(_)) => Event::File {
                        draft: i,
                        stored: None,
                        moves: false,
                    },
                    _ => {
                        rejected.push(RowError {
                            line: d.line,
                            column: None,
                            reason: format!(
                                "execution `{}` from {broker} of account {} is already stored with different values",
                                refs[i], e.account
                            ),
                        });
                        continue;
                    }
                }
            }
        };
        timeline.push(((d.executed_at, 0, d.line), event));
    }
    for (j, fill) in fills.iter().enumerate() {
        if !in_file[j] {
            let at = fill.first().executed_at;
            let id = u64::try_from(fill.legs[0].id).unwrap_or(u64::MAX);
            timeline.push(((at, 1, id), Event::Stored(j)));
        }
    }
    // Positions move in time order; the file's order breaks ties, then the store's.
    timeline.sort_by_key(|(order, _)| *order);
    let mut positions = known.clone();
    let mut executions = Vec::with_capacity(drafts.len());
    let mut corrections = Vec::new();
    for (_, event) in timeline {
        match event {
            Event::File {
                draft: i,
                stored: j,
                moves,
            } => {
                let d = &mut drafts[i];
                if let Act::Known(action) = d.act
                    && action.is_lifecycle()
                    && day_of(d.executed_at, sheet::NEW_YORK) > d.contract.expiration
                {
                    // Posted after the fact: it happened by the expiration at the latest.
                    d.executed_at = sheet::at_close(d.contract.expiration);
                }
                let legs = if moves {
                    step(&mut positions, &d.contract, d.act, d.contracts)
                } else {
                    // A given action is its own leg, whatever the position.
                    step(&mut Positions::new(), &d.contract, d.act, d.contracts)
                };
                let legs = legs_of(&refs[i], legs, d.fees);
                if let Some(j) = j {
                    corrections.extend(correction(&fills[j], &refs[i], &legs));
                }
                let inferred_fill = matches!(d.act, Act::Side(_)).then(|| refs[i].clone());
                for (broker_ref, action, contracts, fees) in legs {
                    executions.push(BrokerExecution {
                        account: None,
                        broker: broker.to_owned(),
                        broker_account: d.broker_account.clone(),
                        broker_ref,
                        executed_at: d.executed_at,
                        action,
                        contract: d.contract.clone(),
                        contracts,
                        price: d.price,
                        fees,
                        line: d.line,
                        inferred_fill: inferred_fill.clone(),
                    });
                }
            }
            Event::Stored(j) => {
                let fill = &fills[j];
                let e = fill.first();
                let legs = step(&mut positions, &e.contract, fill.act, fill.contracts);
                if matches!(fill.act, Act::Side(_))
                    && let Some(base) = &fill.legs[0].inferred_fill
                {
                    corrections.extend(correction(fill, base, &legs_of(base, legs, fill.fees)));
                }
            }
        }
    }
    executions.sort_by_key(|e| (e.executed_at, e.line));
    rejected.sort_by_key(|e| e.line);
    let file = BrokerFile {
        format,
        executions,
        ignored: ignored
            .into_iter()
            .map(|(kind, n)| (kind.as_str().to_owned(), n))
            .collect(),
        rejected,
    };
    (file, corrections)
}

/// The correction of a stored inferred fill, when `legs` are not the legs it is stored as.
fn correction(
    fill: &StoredFill<'_>,
    base: &str,
    legs: &[(String, ExecAction, i64, Money)],
) -> Option<Correction> {
    let as_stored = |e: &Execution| (e.broker_ref.clone(), e.action, e.contracts, e.fees);
    let mut before: Vec<_> = fill.legs.iter().map(|l| as_stored(&l.execution)).collect();
    let mut after: Vec<_> = legs.to_vec();
    before.sort();
    after.sort();
    if before == after {
        return None;
    }
    let first = fill.first();
    Some(Correction {
        fill: base.to_owned(),
        before: fill.legs.iter().map(|l| (*l).clone()).collect(),
        after: legs
            .iter()
            .map(|(broker_ref, action, contracts, fees)| Execution {
                broker_ref: broker_ref.clone(),
                action: *action,
                contracts: *contracts,
                fees: *fees,
                ..first.clone()
            })
            .collect(),
    })
}

/// An event's content as a ref: account, the format's narrowing value, instant, what
/// was done (the side, for rows that only give one), contract, size and price.
fn content_key(d: &Draft, hint: Option<&str>) -> String {
    let what = match d.act {
        Act::Known(action) => action.as_str(),
        Act::Side(BuySell::Buy) => "buy",
        Act::Side(BuySell::Sell) => "sell",
    };
    let mut parts: Vec<String> = Vec::with_capacity(6);
    parts.extend(d.broker_account.clone());
    parts.extend(hint.map(str::to_owned));
    parts.push(d.executed_at.format("%Y%m%dT%H%M%SZ").to_string());
    parts.push(what.to_owned());
    parts.push(d.contract.occ().replace(' ', ""));
    parts.push(format!("{}@{}", d.contracts, d.price));
    parts.join("/")
}

/// The generic format's executions, as a broker file (its rows name their chat).
fn parse_generic(bytes: &[u8]) -> Result<BrokerFile, FileError> {
    let mut file = BrokerFile {
        format: FormatName::Generic,
        executions: Vec::new(),
        ignored: BTreeMap::new(),
        rejected: Vec::new(),
    };
    let rows =
        super::generic::read_rows(ImportKind::Executions, std::io::Cursor::new(bytes.to_vec()))?;
    for row in rows {
        match row.result {
            Ok(Record::Execution(e)) => file.executions.push(BrokerExecution {
                account: Some(e.account),
                broker: e.broker,
                broker_account: None,
                broker_ref: e.broker_ref,
                executed_at: e.executed_at,
                action: e.action,
                contract: e.contract,
                contracts: e.contracts,
                price: e.price,
                fees: e.fees,
                line: row.line,
                inferred_fill: None,
            }),
            Ok(_) => {}
            Err(e) => file.rejected.push(e),
        }
    }
    // In time order, as every broker format's events (a file's rows need not be).
    file.executions.sort_by_key(|e| (e.executed_at, e.line));
    Ok(file)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::domain::{Right, Symbol};
    use chrono::NaiveDate;

    /// Parses `text` in `format` with no known positions.
    pub(crate) fn parse_text(
        format: FormatName,
        text: &str,
        file_name: Option<&str>,
    ) -> BrokerFile {
        parse(format, text.as_bytes(), file_name, &Positions::new()).expect("the file reads")
    }

    /// Each event on one line: account, instant (UTC), action, contract, size, price, fees.
    pub(crate) fn events(file: &BrokerFile) -> Vec<String> {
        file.executions
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {} {} {} {} {} @{} fees {}",
                    e.broker_account.as_deref().unwrap_or("-"),
                    e.executed_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    e.action,
                    e.contract.underlying,
                    e.contract.expiration,
                    e.contract.strike,
                    e.contract.right,
                    e.contracts,
                    e.price,
                    e.fees
                )
            })
            .collect()
    }

    fn contract(strike: i64) -> Contract {
        Contract::new(
            Symbol::parse("SPY").unwrap(),
            NaiveDate::from_ymd_opt(2025, 1, 17).unwrap(),
            Right::Put,
            Money::from_dollars(strike),
        )
        .unwrap()
    }

    #[test]
    fn open_and_close_follow_the_running_position() {
        let c = contract(580);
        let flat = Positions::new();
        let legs = infer_open_close(
            &flat,
            &[
                (c.clone(), BuySell::Sell, 2),
                (c.clone(), BuySell::Buy, 1),
                (c.clone(), BuySell::Buy, 3),
                (c.clone(), BuySell::Sell, 2),
            ],
        );
        assert_eq!(
            legs,
            vec![
                vec![(ExecAction::SellToOpen, 2)],
                vec![(ExecAction::BuyToClose, 1)],
                vec![(ExecAction::BuyToClose, 1), (ExecAction::BuyToOpen, 2)],
                vec![(ExecAction::SellToClose, 2)],
            ]
        );
    }

    #[test]
    fn a_position_opened_before_the_file_is_closed_by_it() {
        let c = contract(580);
        let known = Positions::from([(c.clone(), -2)]);
        let legs = infer_open_close(&known, &[(c.clone(), BuySell::Buy, 2)]);
        assert_eq!(legs, vec![vec![(ExecAction::BuyToClose, 2)]]);
        // Another contract's position changes nothing.
        let legs = infer_open_close(&known, &[(contract(570), BuySell::Buy, 2)]);
        assert_eq!(legs, vec![vec![(ExecAction::BuyToOpen, 2)]]);
    }

    /// A Webull orders export of filled SPY 580 puts: (side, contracts, filled time).
    fn webull(rows: &[(&str, i64, &str)]) -> String {
        let mut text = "Name,Symbol,Side,Status,Filled,Total Qty,Price,Avg Price,\
                        Time-in-Force,Placed Time,Filled Time\n"
            .to_owned();
        for (side, n, at) in rows {
            text.push_str(&format!(
                "SPY250117P00580000,SPY250117P00580000,{side},Filled,{n},{n},@1.00,1.00,DAY,\
                 {at},{at}\n"
            ));
        }
        text
    }

    /// A file's events as the store would hold them in chat 1, with made-up row ids
    /// from `first_id` on.
    fn stored_as(file: &BrokerFile, first_id: i64) -> Vec<StoredLeg> {
        file.executions
            .iter()
            .zip(first_id..)
            .map(|(e, id)| StoredLeg {
                id,
                execution: e.to_execution(AccountId(1)),
                inferred_fill: e.inferred_fill.clone(),
            })
            .collect()
    }

    fn legs(executions: &[Execution]) -> Vec<(String, ExecAction, i64)> {
        executions
            .iter()
            .map(|e| (e.broker_ref.clone(), e.action, e.contracts))
            .collect()
    }

    fn over(text: &str, stored: &[StoredLeg]) -> (BrokerFile, Vec<Correction>) {
        parse_over(
            FormatName::Webull,
            text.as_bytes(),
            None,
            &Positions::new(),
            stored,
        )
        .expect("the file reads")
    }

    const T1: &str = "01/07/2025 09:45:12 EST";
    const T2: &str = "01/08/2025 10:00:00 EST";
    const T3: &str = "01/09/2025 11:00:00 EST";

    #[test]
    fn a_stated_short_stored_before_an_inferred_buy_makes_it_a_close() {
        // The Webull buy, stored alone, opened; a short whose action is stated (a
        // generic row, not inferred) is then stored before it.
        let later = parse(
            FormatName::Webull,
            webull(&[("Buy", 2, T2)]).as_bytes(),
            None,
            &Positions::new(),
        )
        .expect("the file reads");
        let earlier = parse(
            FormatName::Webull,
            webull(&[("Sell", 2, T1)]).as_bytes(),
            None,
            &Positions::new(),
        )
        .expect("the file reads");
        let mut stated = stored_as(&earlier, 2);
        stated[0].inferred_fill = None;
        let buy = stored_as(&later, 1);
        assert!(reinfer(&Positions::new(), &buy).is_empty());
        let stored: Vec<StoredLeg> = stated.into_iter().chain(buy.clone()).collect();
        let corrections = reinfer(&Positions::new(), &stored);
        assert_eq!(corrections.len(), 1, "{corrections:?}");
        assert_eq!(corrections[0].before, buy);
        assert_eq!(
            corrections[0]
                .after
                .iter()
                .map(|e| (e.action, e.contracts))
                .collect::<Vec<_>>(),
            [(ExecAction::BuyToClose, 2)]
        );
        // Only stated actions: nothing to infer again.
        let mut all_stated = stored.clone();
        all_stated[1].inferred_fill = None;
        assert!(reinfer(&Positions::new(), &all_stated).is_empty());
    }

    #[test]
    fn an_earlier_file_corrects_the_stored_fills_it_comes_before() {
        // The later range first: its buy opened, as far as anything stored said.
        let later = parse_text(FormatName::Webull, &webull(&[("Buy", 2, T2)]), None);
        assert_eq!(later.executions[0].action, ExecAction::BuyToOpen);
        let buy = later.executions[0].broker_ref.clone();
        assert_eq!(later.executions[0].inferred_fill.as_deref(), Some(&*buy));
        let stored = stored_as(&later, 10);
        // The earlier range: a short of 2, which that buy closes.
        let (file, corrections) = over(&webull(&[("Sell", 2, T1)]), &stored);
        assert_eq!(file.executions.len(), 1);
        assert_eq!(file.executions[0].action, ExecAction::SellToOpen);
        assert_eq!(corrections.len(), 1);
        assert_eq!(corrections[0].fill, buy);
        assert_eq!(corrections[0].before, stored);
        assert_eq!(
            legs(&corrections[0].after),
            [(buy.clone(), ExecAction::BuyToClose, 2)]
        );
        // Nothing to correct when the stored fills are right already.
        let whole = parse_text(
            FormatName::Webull,
            &webull(&[("Sell", 2, T1), ("Buy", 2, T2)]),
            None,
        );
        let (_, corrections) = over(&webull(&[("Sell", 2, T1)]), &stored_as(&whole, 1)[1..]);
        assert_eq!(corrections, []);
    }

    #[test]
    fn a_correction_splits_a_stored_fill_that_now_crosses_zero_and_joins_one_that_no_longer_does() {
        // Stored: a sell of 1 (opening a short) and a buy of 3 (closing it, opening 2).
        let later = parse_text(
            FormatName::Webull,
            &webull(&[("Sell", 1, T2), ("Buy", 3, T3)]),
            None,
        );
        let (sell, buy) = (
            later.executions[0].broker_ref.clone(),
            later.executions[1].inferred_fill.clone().unwrap(),
        );
        assert_eq!(
            legs(
                &later
                    .executions
                    .iter()
                    .map(|e| e.to_execution(AccountId(1)))
                    .collect::<Vec<_>>()
            ),
            [
                (sell.clone(), ExecAction::SellToOpen, 1),
                (format!("{buy}/close"), ExecAction::BuyToClose, 1),
                (format!("{buy}/open"), ExecAction::BuyToOpen, 2),
            ]
        );
        // An earlier buy of 1: the sell closes it, and the buy of 3 only opens.
        let (_, corrections) = over(&webull(&[("Buy", 1, T1)]), &stored_as(&later, 1));
        let fixed: Vec<_> = corrections
            .iter()
            .map(|c| (c.fill.clone(), c.before.len(), legs(&c.after)))
            .collect();
        assert_eq!(
            fixed,
            [
                (
                    sell.clone(),
                    1,
                    vec![(sell.clone(), ExecAction::SellToClose, 1)]
                ),
                (
                    buy.clone(),
                    2,
                    vec![(buy.clone(), ExecAction::BuyToOpen, 3)]
                ),
            ]
        );
        // And back: the stored single buy of 3 splits again when a file says it crossed.
        let alone = parse_text(FormatName::Webull, &webull(&[("Buy", 3, T3)]), None);
        let (_, corrections) = over(&webull(&[("Sell", 1, T2)]), &stored_as(&alone, 1));
        assert_eq!(
            legs(&corrections[0].after),
            [
                (format!("{buy}/close"), ExecAction::BuyToClose, 1),
                (format!("{buy}/open"), ExecAction::BuyToOpen, 2),
            ]
        );
    }

    #[test]
    fn a_row_stored_already_moves_the_position_once_and_takes_its_corrected_legs() {
        // The later range, T2 and T3, stored first; the earlier, T1 and T2, overlaps it.
        let later = parse_text(
            FormatName::Webull,
            &webull(&[("Buy", 2, T2), ("Sell", 2, T3)]),
            None,
        );
        let stored = stored_as(&later, 1);
        let (file, corrections) = over(&webull(&[("Sell", 2, T1), ("Buy", 2, T2)]), &stored);
        let got: Vec<_> = file
            .executions
            .iter()
            .map(|e| (e.action, e.contracts))
            .collect();
        // Counted twice, the buy at T2 would have opened 2 more.
        assert_eq!(
            got,
            [(ExecAction::SellToOpen, 2), (ExecAction::BuyToClose, 2)]
        );
        let fixed: Vec<_> = corrections
            .iter()
            .flat_map(|c| c.after.iter().map(|e| e.action))
            .collect();
        assert_eq!(fixed, [ExecAction::BuyToClose, ExecAction::SellToOpen]);
        // The whole history, read at once, says the same.
        let whole = parse_text(
            FormatName::Webull,
            &webull(&[("Sell", 2, T1), ("Buy", 2, T2), ("Sell", 2, T3)]),
            None,
        );
        let actions: Vec<_> = whole.executions.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                ExecAction::SellToOpen,
                ExecAction::BuyToClose,
                ExecAction::SellToOpen
            ]
        );
    }

    #[test]
    fn a_row_whose_fill_is_stored_with_other_values_is_refused_and_the_stored_one_counts() {
        let later = parse_text(FormatName::Webull, &webull(&[("Sell", 2, T1)]), None);
        let mut stored = stored_as(&later, 7);
        stored[0].execution.fees = Money::from_dollars(1);
        let (file, corrections) = over(&webull(&[("Sell", 2, T1), ("Buy", 2, T2)]), &stored);
        assert_eq!(file.rejected.len(), 1, "{:?}", file.rejected);
        assert_eq!(file.rejected[0].line, 2);
        assert!(
            file.rejected[0]
                .reason
                .ends_with("of account 1 is already stored with different values"),
            "{}",
            file.rejected[0].reason
        );
        // The stored short is what the buy closes.
        assert_eq!(file.executions.len(), 1);
        assert_eq!(file.executions[0].action, ExecAction::BuyToClose);
        assert_eq!(corrections, []);
    }

    #[test]
    fn a_stored_row_the_file_holds_again_with_its_action_moves_the_position_once() {
        // E*TRADE says `Sold Short` but only `Bought` for the buy.
        let etrade = |rows: &[&str]| {
            let mut text = "TransactionDate,TransactionType,SecurityType,Symbol,Quantity,Amount,\
                            Price,Commission,Description\n"
                .to_owned();
            for row in rows {
                text.push_str(row);
                text.push('\n');
            }
            text
        };
        let short = "01/07/25,Sold Short,OPTN,SPY Jan 17 '25 $580 Put,-1,255.35,2.56,0.65,SPY Jan 17 '25 $580 Put";
        let buy = "01/13/25,Bought,OPTN,SPY Jan 17 '25 $580 Put,1,-35.65,0.35,0.65,SPY Jan 17 '25 $580 Put";
        let first = parse_text(FormatName::Etrade, &etrade(&[short]), None);
        assert_eq!(first.executions[0].inferred_fill, None);
        let stored = stored_as(&first, 1);
        let (file, corrections) = parse_over(
            FormatName::Etrade,
            etrade(&[short, buy]).as_bytes(),
            None,
            &Positions::new(),
            &stored,
        )
        .unwrap();
        let actions: Vec<_> = file.executions.iter().map(|e| e.action).collect();
        assert_eq!(actions, [ExecAction::SellToOpen, ExecAction::BuyToClose]);
        assert_eq!(corrections, []);
    }

    #[test]
    fn a_file_matching_nothing_names_the_known_formats_and_the_closest() {
        let e = detect(b"broker_ref,executed_at,action\n1,2,3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "the file is not an export rlhf-bot knows (it reads generic, schwab, thinkorswim, \
             fidelity, ibkr, tastytrade, robinhood, webull, etrade); the closest is generic, but \
             its header lacks `contracts` (pass --format generic to read it anyway)"
        );
        let e = detect(b"hello,world\n1,2\n").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("; nothing in it looks like any of them"),
            "{e}"
        );
    }

    #[test]
    fn a_generic_executions_file_is_detected_and_keeps_its_chat() {
        let text = "broker_ref,account,executed_at,action,symbol,contracts,price\n\
                    F1,123,2025-01-02T10:01:00-05:00,sell_to_open,AAPL250117P00150000,1,1.30\n\
                    F2,123,2025-01-02T10:01:00-05:00,sell_to_open,AAPL250117P00150000,0,1.30\n";
        let file = parse_any(ImportFormat::Auto, text.as_bytes(), None, &Positions::new()).unwrap();
        assert_eq!(file.format, FormatName::Generic);
        assert_eq!(file.executions[0].account, Some(AccountId(123)));
        assert_eq!(file.executions[0].broker, "generic");
        assert_eq!(file.executions[0].broker_ref, "F1");
        assert_eq!(file.rejected[0].line, 3);
        let json = "{\"broker_ref\":\"F1\"}\n";
        assert_eq!(detect(json.as_bytes()), Ok(FormatName::Generic));
    }

    /// Found by fuzzing (`fuzz/fuzz_targets/brokers.rs`): a generic file's events came
    /// in the file's order, not in time order as `BrokerFile` promises (and as the
    /// import's "first event" reads them).
    #[test]
    fn a_generic_files_events_come_in_time_order() {
        let text = "broker_ref,account,executed_at,action,symbol,contracts,price\n\
                    F1,123,2025-01-03T10:01:00-05:00,sell_to_open,AAPL250117P00150000,1,1.30\n\
                    F2,123,2025-01-02T10:01:00-05:00,sell_to_open,AAPL250117P00150000,1,1.30\n";
        let file = parse(
            FormatName::Generic,
            text.as_bytes(),
            None,
            &Positions::new(),
        )
        .unwrap();
        let refs: Vec<&str> = file
            .executions
            .iter()
            .map(|e| e.broker_ref.as_str())
            .collect();
        assert_eq!(refs, ["F2", "F1"]);
        assert_eq!(file.executions[0].line, 3);
    }

    #[test]
    fn a_forced_format_that_does_not_fit_is_one_sentence() {
        let robinhood = "\"Activity Date\",\"Process Date\",\"Settle Date\",\"Instrument\",\"Description\",\"Trans Code\",\"Quantity\",\"Price\",\"Amount\"\n";
        for format in FormatName::ALL {
            if matches!(format, FormatName::Robinhood | FormatName::Generic) {
                continue;
            }
            let e = parse(format, robinhood.as_bytes(), None, &Positions::new()).unwrap_err();
            assert!(
                e.to_string().starts_with(&format!(
                    "the file has no {format} header row (expected the columns "
                )),
                "{format}: {e}"
            );
        }
        let e = parse(
            FormatName::Generic,
            robinhood.as_bytes(),
            None,
            &Positions::new(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no `broker_ref` column"), "{e}");
    }

    #[test]
    fn nothing_and_noise_are_not_exports() {
        for bytes in [
            &b""[..],
            b"\xef\xbb\xbf",
            b"\x00\x01\x02\xff\xfe",
            b"\"unterminated",
        ] {
            let e = detect(bytes).unwrap_err();
            assert!(
                e.to_string()
                    .ends_with("nothing in it looks like any of them"),
                "{e}"
            );
        }
    }

    #[test]
    fn a_broker_format_is_not_read_row_by_row() {
        let e = crate::import::read_rows(
            ImportKind::Executions,
            ImportFormat::Schwab,
            std::io::Cursor::new(Vec::new()),
        )
        .err()
        .unwrap();
        assert_eq!(
            e.to_string(),
            "a schwab export holds executions: import it with `rlhf-bot import executions FILE` (`--format schwab` is for executions only)"
        );
    }
}
