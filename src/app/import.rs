//! Import a file (a use case): loading a parsed file into the store: rows in batches, every bad row reported with
//! its line, good rows kept, nothing imported twice, progress on a terminal.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::domain::AccountId;
use crate::import::{FileError, ImportFormat, ImportKind, ParsedRow, Record, RowError, read_rows};
use crate::store::{RowOutcome, Scope, Store, StoreError};

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// The rejected rows, by line.
    pub errors: Vec<RowError>,
    /// Per chat, the earliest `executed_at` of the executions inserted (not in the
    /// report: what inferring the stored executions again starts from).
    #[serde(skip)]
    pub earliest: BTreeMap<AccountId, DateTime<Utc>>,
}

impl ImportReport {
    /// The closing line: `imported N, duplicates D, rejected R`.
    pub fn summary(&self) -> String {
        format!(
            "imported {}, duplicates {}, rejected {}",
            self.imported, self.duplicates, self.rejected
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the import stopped unexpectedly; rows read before the stop were kept, run it again to finish"
    )]
    Stopped,
}

/// Rows sent to the store at once (one transaction each).
const BATCH: usize = 5_000;

/// Imports the file at `path`.
pub async fn import_file(
    store: &Store,
    kind: ImportKind,
    format: ImportFormat,
    path: &Path,
    tz: Tz,
    now: DateTime<Utc>,
    progress: bool,
) -> Result<ImportReport, ImportError> {
    let open_err = |source| ImportError::Open {
        path: path.display().to_string(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    let bar = if progress {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let reader = bar.wrap_read(file);
    let report = import_reader(store, kind, format, reader, tz, now).await;
    bar.finish_and_clear();
    report
}

/// Imports from any reader (a file, a document sent to the bot).
///
/// Parsing runs on its own thread while the store writes the previous batch, so a large
/// file costs about the larger of the two, not their sum.
pub async fn import_reader<R: Read + Send + 'static>(
    store: &Store,
    kind: ImportKind,
    format: ImportFormat,
    input: R,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<ImportReport, ImportError> {
    import_reader_in(store, kind, format, input, tz, now, Scope::All).await
}

/// [`import_reader`] on behalf of `scope`: a row of an account outside it is rejected.
pub async fn import_reader_in<R: Read + Send + 'static>(
    store: &Store,
    kind: ImportKind,
    format: ImportFormat,
    input: R,
    tz: Tz,
    now: DateTime<Utc>,
    scope: Scope,
) -> Result<ImportReport, ImportError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<ParsedRow>, FileError>>(2);
    let parser = std::thread::spawn(move || {
        let rows = match read_rows(kind, format, input) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut batch = Vec::with_capacity(BATCH);
        for row in rows {
            batch.push(row);
            if batch.len() >= BATCH
                && tx
                    .blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))))
                    .is_err()
            {
                return; // the importer stopped listening (it failed); nothing more to do
            }
        }
        if !batch.is_empty() {
            let _ = tx.blocking_send(Ok(batch));
        }
    });
    let mut report = ImportReport::default();
    let mut result = Ok(());
    while let Some(message) = rx.recv().await {
        let rows = match message {
            Ok(rows) => rows,
            Err(e) => {
                result = Err(ImportError::File(e));
                break;
            }
        };
        let mut good = Vec::with_capacity(rows.len());
        for row in rows {
            match row.result {
                Ok(record) => match outside_scope(scope, &record, row.line) {
                    None => good.push((row.line, record)),
                    Some(e) => report.errors.push(e),
                },
                Err(e) => report.errors.push(e),
            }
        }
        if let Err(e) = flush(store, &mut good, &mut report, tz, now).await {
            result = Err(ImportError::Store(e));
            break;
        }
    }
    drop(rx);
    result?;
    if parser.join().is_err() {
        // Rows after the failure were not read: say so rather than report a short import.
        return Err(ImportError::Stopped);
    }
    report.errors.sort_by_key(|e| e.line);
    report.rejected = report.errors.len();
    Ok(report)
}

/// The error of a row of an account `scope` may not write (a close belongs to no
/// account), if it is one.
pub(super) fn outside_scope(scope: Scope, record: &Record, line: u64) -> Option<RowError> {
    let account = match record {
        Record::Recommendation(r) => r.account,
        Record::Execution(e) => e.account,
        Record::Price(_) => return None,
    };
    (!scope.allows(account)).then(|| RowError {
        line,
        column: Some("account".to_owned()),
        reason: format!("account {account} is not the account of this token"),
    })
}

async fn flush(
    store: &Store,
    batch: &mut Vec<(u64, Record)>,
    report: &mut ImportReport,
    tz: Tz,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let lines: Vec<u64> = batch.iter().map(|(l, _)| *l).collect();
    let chats: Vec<Option<(AccountId, DateTime<Utc>)>> = batch
        .iter()
        .map(|(_, r)| match r {
            Record::Execution(e) => Some((e.account, e.executed_at)),
            _ => None,
        })
        .collect();
    let mut recs = Vec::new();
    let mut execs = Vec::new();
    let mut prices = Vec::new();
    for (_, r) in batch.drain(..) {
        match r {
            Record::Recommendation(r) => recs.push(r),
            Record::Execution(e) => execs.push(e),
            Record::Price(p) => prices.push(p),
        }
    }
    // A file holds one kind, so only one of these is non-empty.
    let mut outcomes = store.insert_recommendations(&recs, tz, now).await?;
    outcomes.extend(store.insert_executions(&execs, tz, now).await?);
    outcomes.extend(store.insert_prices(&prices, now).await?);
    for ((line, chat), outcome) in lines.into_iter().zip(chats).zip(outcomes) {
        match outcome {
            RowOutcome::Inserted => {
                report.imported += 1;
                if let Some((chat, at)) = chat {
                    let first = report.earliest.entry(chat).or_insert(at);
                    *first = (*first).min(at);
                }
            }
            RowOutcome::Duplicate => report.duplicates += 1,
            RowOutcome::Conflict(reason) => report.errors.push(RowError {
                line,
                column: None,
                reason,
            }),
        }
    }
    Ok(())
}
