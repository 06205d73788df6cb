//! The match use cases: list with filters, show one, record the trader's reason; and
//! what matches are made from, in: files, and parsed records (the simulator, the API).

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::App;
use super::import::{ImportError, ImportReport, import_file, import_reader};
use crate::domain::{Execution, PriceClose, Reason, Recommendation};
use crate::import::{ImportFormat, ImportKind};
use crate::store::{MatchFilter, MatchRecord, Result, RowOutcome, Scope};

impl App {
    /// Matches in day order (then id), filtered (the filter names the account, if one).
    pub async fn matches(&self, filter: &MatchFilter) -> Result<Vec<MatchRecord>> {
        self.store.matches(filter).await
    }

    /// One match with its outcomes, if `scope` may see it.
    pub async fn match_detail(&self, id: i64, scope: Scope) -> Result<MatchRecord> {
        self.store.match_detail(id, scope).await
    }

    /// Records the trader's reason for a divergence (kept across re-runs).
    pub async fn record_reason(
        &self,
        id: i64,
        scope: Scope,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<MatchRecord> {
        self.store.set_reason(id, scope, reason, now).await
    }

    /// Imports a file of `kind` from any reader (a file, a document sent to the bot, a
    /// request body): good rows kept, bad rows reported by line, nothing twice.
    pub async fn import<R: Read + Send + 'static>(
        &self,
        kind: ImportKind,
        format: ImportFormat,
        input: R,
        now: DateTime<Utc>,
    ) -> std::result::Result<ImportReport, ImportError> {
        let report = import_reader(&self.store, kind, format, input, self.settings.tz, now).await?;
        // Stated actions stored before inferred ones change what those were.
        self.reinfer_stored(&report.earliest, now).await?;
        Ok(report)
    }

    /// Imports the file at `path` (with a progress bar on the terminal when `progress`).
    pub async fn import_file(
        &self,
        kind: ImportKind,
        format: ImportFormat,
        path: &Path,
        progress: bool,
        now: DateTime<Utc>,
    ) -> std::result::Result<ImportReport, ImportError> {
        let report = import_file(
            &self.store,
            kind,
            format,
            path,
            self.settings.tz,
            now,
            progress,
        )
        .await?;
        self.reinfer_stored(&report.earliest, now).await?;
        Ok(report)
    }

    /// Stores recommendations already parsed; one outcome per row, in order (a repeat
    /// of a stored row is a duplicate, the same key with other values a conflict).
    pub async fn ingest_recommendations(
        &self,
        rows: &[Recommendation],
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        self.store
            .insert_recommendations(rows, self.settings.tz, now)
            .await
    }

    /// Stores executions already parsed (see [`App::ingest_recommendations`]).
    pub async fn ingest_executions(
        &self,
        rows: &[Execution],
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        self.store
            .insert_executions(rows, self.settings.tz, now)
            .await
    }

    /// Stores daily closes already parsed (see [`App::ingest_recommendations`]).
    pub async fn ingest_prices(
        &self,
        rows: &[PriceClose],
        now: DateTime<Utc>,
    ) -> Result<Vec<RowOutcome>> {
        self.store.insert_prices(rows, now).await
    }
}
