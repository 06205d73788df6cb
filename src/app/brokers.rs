//! Import executions from any export (a use case): the generic columns or a broker's
//! file, detected or forced; each event assigned to its Telegram chat (the one given, or
//! the one its broker account is linked to); the edge bounds of the generic importer
//! applied to every event; stored, or with `dry_run` only read. A file landing in one
//! chat is read through the executions stored there from its first event on: those
//! whose open or close was inferred and that its events change are corrected in the
//! transaction that stores it, and the days whose matches held one reconciled again. A
//! generic file states every action, yet its rows can come before stored inferred
//! ones: those are inferred again once its rows are stored ([`brokers::reinfer`]).
//! The command line (`import executions`) and a document sent to the bot both call
//! [`App::import_executions`]; [`App::link_broker_account`] and its neighbours keep the
//! links from broker accounts to chats.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::App;
use super::import::{ImportError, ImportReport, import_reader};
use super::reconcile::run_day_in;
use crate::domain::{AccountId, Execution, day_of};
use crate::import::brokers::{
    self, BrokerExecution, BrokerFile, Correction, FormatName, ParseError, Positions,
};
use crate::import::{FileError, ImportFormat, ImportKind, RowError, values};
use crate::store::{BrokerLink, Linked, Result as StoreResult, RowOutcome, StoreError, Tx};

/// Which chat a file's events belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChoice {
    /// From the file: the generic rows name their chat; a broker's events go to the chat
    /// their broker account is linked to.
    FromFile,
    /// Every event goes to this chat (`--account CHAT_ID`, or the chat that sent the
    /// file); a broker account linked to another chat is refused.
    Chat(AccountId),
}

/// What importing an export did (or, in a dry run, would do).
#[derive(Debug, Serialize)]
pub struct ImportOutcome {
    pub format: FormatName,
    pub dry_run: bool,
    /// The file as read: each event's `account` filled where it is determined, and the
    /// events the edge bounds refuse moved to `rejected`. Empty for a generic file
    /// streamed straight into the store.
    #[serde(skip)]
    pub file: BrokerFile,
    /// Why the file's chat could not be determined (a dry run reads on regardless; a
    /// real import is refused with this sentence).
    pub account_problem: Option<String>,
    /// The chats the events went (or would go) to.
    pub accounts: BTreeSet<AccountId>,
    /// Counts and the rejected rows by line (in a dry run, nothing imported).
    #[serde(flatten)]
    pub report: ImportReport,
    /// Rows left out, by kind.
    pub ignored: BTreeMap<String, u64>,
    /// The days (in the schedule zone) the file's events fall on, in order.
    pub days: Vec<NaiveDate>,
    /// Stored executions whose open or close the file's earlier events change (Webull
    /// and E*TRADE say only buy or sell): corrected in the store, in the transaction
    /// that stores the file (a dry run of a broker's file only says so), in time order;
    /// for a generic file streamed in, after its last batch, in one transaction per chat.
    pub corrected: Vec<Corrected>,
    /// The days whose reconciliation held a corrected execution, reconciled again in
    /// that transaction.
    pub reconciled_again: Vec<NaiveDate>,
}

/// One stored fill the import corrected: what it was and what it is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Corrected {
    pub broker: String,
    /// The fill's ref (its legs' refs, or what their `/close` and `/open` extend).
    pub broker_ref: String,
    pub executed_at: DateTime<Utc>,
    /// OCC symbol.
    pub contract: String,
    /// Its legs as stored before, `action contracts` each.
    pub was: Vec<String>,
    /// Its legs now.
    pub now: Vec<String>,
}

impl Corrected {
    fn of(c: &Correction) -> Self {
        let legs = |legs: &mut dyn Iterator<Item = &Execution>| {
            legs.map(|e| format!("{} {}", e.action, e.contracts))
                .collect()
        };
        let first = c.after.first().or(c.before.first().map(|l| &l.execution));
        Corrected {
            broker: first.map(|e| e.broker.clone()).unwrap_or_default(),
            broker_ref: c.fill.clone(),
            executed_at: first.map(|e| e.executed_at).unwrap_or_default(),
            contract: first.map(|e| e.contract.to_string()).unwrap_or_default(),
            was: legs(&mut c.before.iter().map(|l| &l.execution)),
            now: legs(&mut c.after.iter()),
        }
    }
}

impl ImportOutcome {
    /// What the import corrected among the stored executions, for a person: one line
    /// saying how many, then one line per fill (the first `shown` of them), then the
    /// days reconciled again; `None` when it corrected nothing. The command line prints
    /// it whole; the bot's card shows a few.
    pub fn corrections_report(&self, shown: usize) -> Option<String> {
        use std::fmt::Write;
        let n = self.corrected.len();
        if n == 0 {
            return None;
        }
        let (verb, executions) = match (self.dry_run, n) {
            (true, 1) => ("would correct", "execution"),
            (true, _) => ("would correct", "executions"),
            (false, 1) => ("corrected", "execution"),
            (false, _) => ("corrected", "executions"),
        };
        let mut out = format!(
            "{verb} {n} stored {executions} whose open or close this file's earlier trades decide:"
        );
        for c in self.corrected.iter().take(shown) {
            let _ = write!(
                out,
                "\n  {} {} ({} {}): {} → {}",
                c.executed_at.format("%Y-%m-%d %H:%M:%SZ"),
                c.contract,
                c.broker,
                c.broker_ref,
                c.was.join(" + "),
                c.now.join(" + ")
            );
        }
        if n > shown {
            let _ = write!(out, "\n  … and {} more", n - shown);
        }
        if !self.reconciled_again.is_empty() {
            let days: Vec<String> = self
                .reconciled_again
                .iter()
                .map(ToString::to_string)
                .collect();
            let _ = write!(
                out,
                "\nreconciled again (their matches held a corrected execution): {}",
                days.join(", ")
            );
        }
        Some(out)
    }
}

impl App {
    /// The outcome of a generic file streamed straight into the store (its rows name
    /// their chats), once the stored inferred executions its rows come before are
    /// inferred again.
    async fn streamed(
        &self,
        format: FormatName,
        report: ImportReport,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, BrokerImportError> {
        let (corrections, reconciled_again) = self.reinfer_stored(&report.earliest, now).await?;
        let mut outcome = streamed(format, report);
        outcome.corrected = corrections.iter().map(Corrected::of).collect();
        outcome.reconciled_again = reconciled_again;
        Ok(outcome)
    }
}

/// The outcome of a generic file streamed straight into the store (its rows name
/// their chats).
fn streamed(format: FormatName, report: ImportReport) -> ImportOutcome {
    ImportOutcome {
        format,
        dry_run: false,
        file: BrokerFile {
            format,
            executions: Vec::new(),
            ignored: BTreeMap::new(),
            rejected: Vec::new(),
        },
        account_problem: None,
        accounts: BTreeSet::new(),
        report,
        ignored: BTreeMap::new(),
        days: Vec::new(),
        corrected: Vec::new(),
        reconciled_again: Vec::new(),
    }
}

/// Why an export was not imported.
#[derive(Debug, thiserror::Error)]
pub enum BrokerImportError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The chat could not be determined, or would be the wrong one.
    #[error("{0}")]
    Account(String),
}

/// The largest export read whole (a broker's, or a generic file read for a dry run or
/// into a chat given): a year of a busy account is a few MB; Telegram serves the bot 20.
pub const MAX_EXPORT_BYTES: u64 = 64 << 20;

impl App {
    /// Imports the executions in the file at `path`, as [`App::import_executions`] does
    /// with its bytes, without reading it whole when it need not be: the format is
    /// detected from its first MiB, a generic file with rows naming their chats is
    /// streamed whatever its size, and any other file is read whole only up to
    /// [`MAX_EXPORT_BYTES`].
    pub async fn import_executions_at(
        &self,
        path: &Path,
        format: ImportFormat,
        account: AccountChoice,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, BrokerImportError> {
        let open_err = |source| {
            BrokerImportError::Import(ImportError::Open {
                path: path.display().to_string(),
                source,
            })
        };
        let mut file = File::open(path).map_err(open_err)?;
        let size = file.metadata().map_err(open_err)?.len();
        let format = match format.format_name() {
            Some(f) => f,
            None => {
                let mut head = Vec::new();
                (&mut file)
                    .take(brokers::DETECT_BYTES as u64)
                    .read_to_end(&mut head)
                    .map_err(open_err)?;
                file.seek(SeekFrom::Start(0)).map_err(open_err)?;
                brokers::detect_file(&head)?
            }
        };
        if format == FormatName::Generic && account == AccountChoice::FromFile && !dry_run {
            let report = import_reader(
                &self.store,
                ImportKind::Executions,
                ImportFormat::Generic,
                file,
                self.settings.tz,
                now,
            )
            .await?;
            return self.streamed(format, report, now).await;
        }
        if size > MAX_EXPORT_BYTES {
            return Err(ParseError::File(FileError::TooLarge {
                size: size.div_ceil(1 << 20),
                limit: MAX_EXPORT_BYTES >> 20,
            })
            .into());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(MAX_EXPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(open_err)?;
        let name = path.file_name().and_then(|n| n.to_str());
        self.import_executions(bytes, name, forced(format), account, dry_run, now)
            .await
    }

    /// Imports the executions in `bytes` (an export named `file_name`, if it has a name),
    /// in `format` (`auto` detects it), into the chat `account` says. With `dry_run`
    /// nothing is written. Events are never stored in a chat other than the one chosen:
    /// a file whose chat cannot be determined, or whose broker account is linked to
    /// another chat than the one given, is refused whole.
    pub async fn import_executions(
        &self,
        bytes: Vec<u8>,
        file_name: Option<&str>,
        format: ImportFormat,
        account: AccountChoice,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportOutcome, BrokerImportError> {
        let format = match format.format_name() {
            Some(f) => f,
            None => brokers::detect_file(&bytes)?,
        };
        if format == FormatName::Generic && account == AccountChoice::FromFile && !dry_run {
            // The generic rows name their chat: streamed in batches exactly as `import`
            // always has, whatever the file's size.
            let report = import_reader(
                &self.store,
                ImportKind::Executions,
                ImportFormat::Generic,
                Cursor::new(bytes),
                self.settings.tz,
                now,
            )
            .await?;
            return self.streamed(format, report, now).await;
        }
        let forced = forced(format);
        let mut file = brokers::parse_any(forced, &bytes, file_name, &Positions::new())?;
        let mut problem = self.assign(&mut file, account).await?;
        // Formats without an open/close flag infer it from the account's running
        // position: when the file lands in one chat, read it again from the positions
        // stored before its first event, through the executions stored from then on
        // (inferred again with it: an earlier file can change what they were).
        // A real import reads them in the transaction that writes, after locking the
        // chat: another import into it (an earlier or a later range at the same time)
        // is then either all seen or not begun.
        let mut corrections = Vec::new();
        let mut tx = None;
        let single: BTreeSet<AccountId> =
            file.executions.iter().filter_map(|e| e.account).collect();
        if format != FormatName::Generic
            && single.len() == 1
            && problem.is_none()
            && let (Some(chat), Some(first)) = (single.first(), file.executions.first())
        {
            let (known, stored) = if dry_run {
                (
                    self.store.net_positions(*chat, first.executed_at).await?,
                    self.store.executions_from(*chat, first.executed_at).await?,
                )
            } else {
                let tx = tx.insert(self.store.begin().await?);
                tx.lock_account(*chat, now).await?;
                (
                    tx.net_positions(*chat, first.executed_at).await?,
                    tx.executions_from(*chat, first.executed_at).await?,
                )
            };
            if !known.is_empty() || !stored.is_empty() {
                (file, corrections) =
                    brokers::parse_over(format, &bytes, file_name, &known, &stored)
                        .map_err(ParseError::from)?;
                problem = self.assign(&mut file, account).await?;
            }
        }
        bound(&mut file);
        let tz = self.settings.tz;
        let days: BTreeSet<NaiveDate> = file
            .executions
            .iter()
            .map(|e| day_of(e.executed_at, tz))
            .collect();
        let accounts: BTreeSet<AccountId> =
            file.executions.iter().filter_map(|e| e.account).collect();
        let mut report = ImportReport {
            errors: file.rejected.clone(),
            ..ImportReport::default()
        };
        let mut reconciled_again = Vec::new();
        if !dry_run {
            if let Some(sentence) = problem {
                return Err(BrokerImportError::Account(sentence));
            }
            // The corrections, the file's rows and the days reconciled again because a
            // match held a corrected execution: one transaction, nothing half-written.
            let executions: Vec<(&BrokerExecution, Execution)> = file
                .executions
                .iter()
                .filter_map(|e| e.account.map(|a| (e, e.to_execution(a))))
                .collect();
            let rows: Vec<(&Execution, Option<String>)> = executions
                .iter()
                .map(|(e, x)| (x, e.inferred_fill.clone()))
                .collect();
            let mut tx = match tx {
                Some(tx) => tx,
                None => self.store.begin().await?,
            };
            if format == FormatName::Generic {
                // Its rows are read again below with the chat's stored inferred ones:
                // the chat is locked before anything is written, as a broker file's is.
                for chat in &accounts {
                    tx.lock_account(*chat, now).await?;
                }
            }
            let imported = tx.import_executions(&rows, &corrections, tz, now).await?;
            let chat = corrections
                .first()
                .and_then(|c| c.before.first())
                .map(|l| l.execution.account);
            for day in imported.unlinked_days {
                run_day_in(&mut tx, &self.settings.rules, tz, day, chat, now).await?;
                reconciled_again.push(day);
            }
            if format == FormatName::Generic {
                // Its rows say their actions, so nothing of the file is inferred; but
                // the stored executions after its first row that were inferred without
                // it are read again through it, in this transaction.
                let mut earliest: BTreeMap<AccountId, DateTime<Utc>> = BTreeMap::new();
                for ((_, x), outcome) in executions.iter().zip(&imported.outcomes) {
                    if matches!(outcome, RowOutcome::Inserted) {
                        let first = earliest.entry(x.account).or_insert(x.executed_at);
                        *first = (*first).min(x.executed_at);
                    }
                }
                for (chat, from) in earliest {
                    let (mine, again) = self.reinfer_in(&mut tx, chat, from, now).await?;
                    corrections.extend(mine);
                    reconciled_again.extend(again);
                }
                reconciled_again.sort();
                reconciled_again.dedup();
            }
            tx.commit().await?;
            for ((e, _), outcome) in executions.iter().zip(imported.outcomes) {
                match outcome {
                    RowOutcome::Inserted => report.imported += 1,
                    RowOutcome::Duplicate => report.duplicates += 1,
                    RowOutcome::Conflict(reason) => report.errors.push(RowError {
                        line: e.line,
                        column: None,
                        reason,
                    }),
                }
            }
        }
        report.errors.sort_by_key(|e| e.line);
        report.rejected = report.errors.len();
        Ok(ImportOutcome {
            format,
            dry_run,
            ignored: file.ignored.clone(),
            file,
            account_problem: problem,
            accounts,
            report,
            days: days.into_iter().collect(),
            corrected: corrections.iter().map(Corrected::of).collect(),
            reconciled_again,
        })
    }

    /// Fills each event's chat as `choice` says. A broker account linked to another
    /// chat than the one given is an error; a chat that cannot be determined is
    /// returned as the sentence that says what to pass (the events stay unassigned).
    async fn assign(
        &self,
        file: &mut BrokerFile,
        choice: AccountChoice,
    ) -> Result<Option<String>, BrokerImportError> {
        let broker = file.format.as_str();
        let mut links: BTreeMap<String, Option<AccountId>> = BTreeMap::new();
        if file.format != FormatName::Generic {
            for e in &file.executions {
                if let Some(ba) = &e.broker_account
                    && !links.contains_key(ba)
                {
                    let link = self.store.broker_link(broker, ba).await?;
                    links.insert(ba.clone(), link);
                }
            }
        }
        match choice {
            AccountChoice::Chat(chat) => {
                if let Some((ba, linked)) = links
                    .iter()
                    .find_map(|(ba, l)| l.filter(|l| *l != chat).map(|l| (ba, l)))
                {
                    return Err(BrokerImportError::Account(format!(
                        "{broker} account {ba} is linked to chat {linked}, not to chat {chat}: \
                         import it without --account to send it to chat {linked}, or unlink it first \
                         (rlhf-bot accounts unlink --broker {broker} --broker-account {ba})"
                    )));
                }
                if file.format == FormatName::Generic {
                    // A generic row names its chat: one naming another is refused, not moved.
                    let (mine, others): (Vec<_>, Vec<_>) = std::mem::take(&mut file.executions)
                        .into_iter()
                        .partition(|e| e.account.is_none_or(|a| a == chat));
                    file.rejected.extend(others.into_iter().map(|e| RowError {
                        line: e.line,
                        column: Some("account".to_owned()),
                        reason: format!(
                            "the row is for account {}, but the file is imported into chat {chat}",
                            e.account.map(|a| a.to_string()).unwrap_or_default()
                        ),
                    }));
                    file.rejected.sort_by_key(|e| e.line);
                    file.executions = mine;
                }
                for e in &mut file.executions {
                    e.account = Some(chat);
                }
                Ok(None)
            }
            AccountChoice::FromFile if file.format == FormatName::Generic => Ok(None),
            AccountChoice::FromFile => {
                let mut problem = None;
                for e in &mut file.executions {
                    e.account = e
                        .broker_account
                        .as_ref()
                        .and_then(|ba| links.get(ba).copied().flatten());
                    if e.account.is_none() && problem.is_none() {
                        problem = Some(match &e.broker_account {
                            None => format!(
                                "the {broker} file does not say which broker account it is from, so \
                                 its chat is unknown: pass --account CHAT_ID"
                            ),
                            Some(ba) => format!(
                                "{broker} account {ba} is linked to no chat: pass --account CHAT_ID, \
                                 or link it once with `rlhf-bot accounts link --broker {broker} \
                                 --broker-account {ba} --account CHAT_ID`"
                            ),
                        });
                    }
                }
                Ok(problem)
            }
        }
    }

    /// Infers again, chat by chat, the stored executions whose open or close was
    /// inferred and that come at or after the instant `earliest` gives for their chat:
    /// executions whose actions are stated (a generic file streamed in) were stored
    /// before them since they were inferred. One query says which chats hold any; each
    /// of those is corrected in a transaction of its own, with the days whose matches
    /// held a corrected execution reconciled again. The corrections, in time order per
    /// chat, and those days.
    pub(super) async fn reinfer_stored(
        &self,
        earliest: &BTreeMap<AccountId, DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<Correction>, Vec<NaiveDate>)> {
        let mut corrections = Vec::new();
        let mut days = BTreeSet::new();
        if earliest.is_empty() {
            return Ok((corrections, Vec::new()));
        }
        for chat in self.store.chats_with_inferred(earliest).await? {
            let Some(from) = earliest.get(&chat) else {
                continue;
            };
            let mut tx = self.store.begin().await?;
            let (mine, again) = self.reinfer_in(&mut tx, chat, *from, now).await?;
            tx.commit().await?;
            corrections.extend(mine);
            days.extend(again);
        }
        Ok((corrections, days.into_iter().collect()))
    }

    /// In `tx`: locks `chat`, infers again its stored executions from `from` on (see
    /// [`brokers::reinfer`]), stores the corrections and reconciles again the days whose
    /// matches held a corrected execution. The corrections and those days.
    async fn reinfer_in(
        &self,
        tx: &mut Tx,
        chat: AccountId,
        from: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<Correction>, Vec<NaiveDate>)> {
        tx.lock_account(chat, now).await?;
        let stored = tx.executions_from(chat, from).await?;
        if stored.iter().all(|l| l.inferred_fill.is_none()) {
            return Ok((Vec::new(), Vec::new()));
        }
        let known = tx.net_positions(chat, from).await?;
        let corrections = brokers::reinfer(&known, &stored);
        if corrections.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let tz = self.settings.tz;
        let imported = tx.import_executions(&[], &corrections, tz, now).await?;
        let mut days = Vec::new();
        for day in imported.unlinked_days {
            run_day_in(tx, &self.settings.rules, tz, day, Some(chat), now).await?;
            days.push(day);
        }
        Ok((corrections, days))
    }

    /// Every link from a broker account to a chat.
    pub async fn broker_links(&self) -> StoreResult<Vec<BrokerLink>> {
        self.store.broker_links().await
    }

    /// Links `broker_account` at `broker` (a format name, as `--format` spells it) to
    /// the chat `account`.
    pub async fn link_broker_account(
        &self,
        broker: FormatName,
        broker_account: &str,
        account: AccountId,
        now: DateTime<Utc>,
    ) -> StoreResult<Linked> {
        self.store
            .link_broker_account(broker.as_str(), broker_account.trim(), account, now)
            .await
    }

    /// Removes a link; the chat it pointed to, if there was one.
    pub async fn unlink_broker_account(
        &self,
        broker: FormatName,
        broker_account: &str,
    ) -> StoreResult<Option<AccountId>> {
        self.store
            .unlink_broker_account(broker.as_str(), broker_account.trim())
            .await
    }
}

/// The generic importer's edge bounds, for every event: a row worth more than the most
/// one row may carry, and a trade dated after its contract's expiration, are rejected
/// with their line (expirations, assignments and exercises are dated by the parser).
fn bound(file: &mut BrokerFile) {
    let mut refused = Vec::new();
    file.executions.retain(|e| {
        let check = values::row_value(e.price, e.contracts)
            .map_err(|r| ("price", r))
            .and_then(|()| values::row_value(e.fees, 1).map_err(|r| ("fees", r)))
            .and_then(|()| {
                let day = values::exchange_day(e.executed_at);
                if !e.action.is_lifecycle() && e.contract.expiration < day {
                    Err((
                        "expiration",
                        format!(
                            "the contract expired on {}, before this {} on {day}; a trade cannot come after its expiration",
                            e.contract.expiration, e.action
                        ),
                    ))
                } else {
                    Ok(())
                }
            });
        match check {
            Ok(()) => true,
            Err((column, reason)) => {
                refused.push(RowError {
                    line: e.line,
                    column: Some(column.to_owned()),
                    reason,
                });
                false
            }
        }
    });
    if !refused.is_empty() {
        file.rejected.extend(refused);
        file.rejected.sort_by_key(|e| e.line);
    }
}

/// The `--format` choice that reads `format` without detecting it again.
fn forced(format: FormatName) -> ImportFormat {
    match format {
        FormatName::Generic => ImportFormat::Generic,
        FormatName::Schwab => ImportFormat::Schwab,
        FormatName::Thinkorswim => ImportFormat::Thinkorswim,
        FormatName::Fidelity => ImportFormat::Fidelity,
        FormatName::Ibkr => ImportFormat::Ibkr,
        FormatName::Tastytrade => ImportFormat::Tastytrade,
        FormatName::Robinhood => ImportFormat::Robinhood,
        FormatName::Webull => ImportFormat::Webull,
        FormatName::Etrade => ImportFormat::Etrade,
    }
}
