//! The use cases only the HTTP API asks for: its tokens (made, listed, revoked, checked),
//! lists read a page at a time with their totals, items pushed as JSON and stored through
//! the generic format's own row parser, a file imported on behalf of one account, a
//! week's summary generated with its posts, and the service's health.
//!
//! A token is `rlhf_<id>_<secret>`: the id finds the row, and the secret's SHA-256 is
//! compared with the stored one in constant time. The secret exists only in the answer
//! to `tokens create`; the database holds its hash.

use std::io::Read;

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::App;
use super::import::{ImportError, ImportReport, import_reader_in, outside_scope};
use super::learning::weekly_with_posts;
use crate::domain::{AccountId, Week};
use crate::import::{ImportFormat, ImportKind, Record, read_rows};
use crate::learning::candidates::Candidate;
use crate::store::{
    CandidateKey, Figures, MatchFilter, MatchKey, MatchRecord, NewToken, Page, Readiness, Result,
    RowOutcome, Scope, StoredSummary, StoredToken, SummaryKey,
};

/// What every token starts with, so a leaked one is recognisable (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "rlhf_";

/// Who is calling the API: the token's id and name, its account (none: every account)
/// and whether it may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: i64,
    pub name: String,
    pub account: Option<AccountId>,
    pub read_only: bool,
}

impl Caller {
    /// The rows the caller may see.
    pub fn scope(&self) -> Scope {
        self.account.map_or(Scope::All, Scope::Account)
    }

    /// Who the candidate audit trail says decided.
    pub fn actor(&self) -> String {
        if self.name.is_empty() {
            format!("api:{}", self.token_id)
        } else {
            format!("api:{}", self.name)
        }
    }
}

/// What became of one pushed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Imported,
    Duplicate,
    Rejected,
    Conflict,
}

/// One pushed item's answer: its place in the request, the account and key it names
/// (when it could be read), what became of it and, unless it was stored, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemOutcome {
    pub index: usize,
    pub status: ItemStatus,
    pub account: Option<AccountId>,
    /// `external_id`, `broker_ref`, or `SYMBOL DATE` for a close.
    pub key: Option<String>,
    /// The item's field at fault, for a rejected item.
    pub field: Option<String>,
    pub reason: Option<String>,
}

impl App {
    /// Makes a token for one account (or every account) and stores its hash; returns
    /// the stored token and the bearer text, which is shown once and never again.
    pub async fn create_token(
        &self,
        account: Option<AccountId>,
        name: &str,
        read_only: bool,
        now: DateTime<Utc>,
    ) -> Result<(StoredToken, String)> {
        let mut bytes = [0u8; 32];
        // ThreadRng is a CSPRNG seeded from the operating system.
        rand::rng().fill_bytes(&mut bytes);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let hash = sha256_hex(&secret);
        let token = self
            .store
            .insert_token(
                &NewToken {
                    account,
                    name: name.trim(),
                    read_only,
                    secret_hash: &hash,
                },
                now,
            )
            .await?;
        let bearer = format!("{TOKEN_PREFIX}{}_{secret}", token.id);
        Ok((token, bearer))
    }

    /// Every token, oldest first (hashes, never secrets).
    pub async fn tokens(&self) -> Result<Vec<StoredToken>> {
        self.store.tokens().await
    }

    /// Revokes a token: from now on it is refused.
    pub async fn revoke_token(&self, id: i64, now: DateTime<Utc>) -> Result<StoredToken> {
        self.store.revoke_token(id, now).await
    }

    /// The caller a bearer token stands for, or `None` when it is malformed, unknown,
    /// wrong or revoked (the answer does not say which).
    pub async fn authenticate(&self, bearer: &str) -> Result<Option<Caller>> {
        let Some((id, secret)) = bearer
            .strip_prefix(TOKEN_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(id, secret)| Some((id.parse::<i64>().ok()?, secret)))
        else {
            return Ok(None);
        };
        let Some(token) = self.store.token(id).await? else {
            return Ok(None);
        };
        let presented = sha256_hex(secret);
        let same: bool = presented
            .as_bytes()
            .ct_eq(token.secret_hash.as_bytes())
            .into();
        if !same || token.revoked_at.is_some() {
            return Ok(None);
        }
        Ok(Some(Caller {
            token_id: token.id,
            name: token.name,
            account: token.account,
            read_only: token.read_only,
        }))
    }

    /// A page of matches (`filter` names the account, if one), after `after`.
    pub async fn match_page(
        &self,
        filter: &MatchFilter,
        after: Option<MatchKey>,
        limit: i64,
    ) -> Result<Page<MatchRecord>> {
        self.store.match_page(filter, after, limit).await
    }

    /// A page of stored summaries, newest week first, after `after`.
    pub async fn summary_page(
        &self,
        scope: Scope,
        year: Option<i32>,
        after: Option<SummaryKey>,
        limit: i64,
    ) -> Result<Page<StoredSummary>> {
        self.store.summary_page(scope, year, after, limit).await
    }

    /// A page of candidates, by account then id, after `after`.
    pub async fn candidate_page(
        &self,
        scope: Scope,
        after: Option<CandidateKey>,
        limit: i64,
    ) -> Result<Page<Candidate>> {
        self.store.candidate_page(scope, after, limit).await
    }

    /// Generates (or regenerates) one account's summary of `week` and queues its posts
    /// (the summary, a card per new candidate and per validation report, when the
    /// account is served) in the transaction that stores it — what the Saturday run
    /// does for every account. Returns the summary as stored.
    pub async fn generate_and_post_summary(
        &self,
        account: AccountId,
        week: Week,
        now: DateTime<Utc>,
    ) -> Result<StoredSummary> {
        let posts = (self.posts.as_ref(), self);
        weekly_with_posts(
            &self.store,
            &self.settings,
            Some(posts),
            week,
            Some(account),
            now,
        )
        .await?;
        self.store.summary(account, week).await
    }

    /// Stores pushed items of `kind`, each a JSON object in the generic format's names
    /// (SPEC §10), read by the same row parser as a JSON Lines file, so a value means
    /// the same and a bad one gets the same sentence. An item of a token for one
    /// account may leave `account` out; one naming another account is rejected. Good
    /// items are stored even when others are not; one answer per item, in order.
    pub async fn ingest_items(
        &self,
        kind: ImportKind,
        scope: Scope,
        items: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<ItemOutcome>> {
        let mut outcomes: Vec<ItemOutcome> = (0..items.len())
            .map(|index| ItemOutcome {
                index,
                status: ItemStatus::Rejected,
                account: None,
                key: None,
                field: None,
                reason: Some("the item could not be read".to_owned()),
            })
            .collect();
        // One JSON Lines file, item i on line i + 1; an item that is not an object
        // leaves its line blank (the reader skips blank lines but counts them).
        let mut lines = String::new();
        let mut objects = 0;
        for (i, item) in items.iter().enumerate() {
            let item = item.trim();
            if item.starts_with('{') {
                objects += 1;
                lines.push_str(&with_account(item, scope));
            } else {
                outcomes[i].reason = Some(format!(
                    "`{}` is not a JSON object (expected an object such as {{\"external_id\": \"r-1\", …}})",
                    snippet(item)
                ));
            }
            lines.push('\n');
        }
        if objects == 0 {
            return Ok(outcomes);
        }
        let rows = read_rows(
            kind,
            ImportFormat::Generic,
            std::io::Cursor::new(lines.into_bytes()),
        )
        // Only a whole file can fail here (unreadable, empty), and this one is in
        // memory and holds an object.
        .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
        let mut good: Vec<(usize, Record)> = Vec::new();
        for row in rows {
            let Some(index) = usize::try_from(row.line)
                .ok()
                .and_then(|l| l.checked_sub(1))
            else {
                continue;
            };
            let Some(out) = outcomes.get_mut(index) else {
                continue;
            };
            let checked = row
                .result
                .and_then(|r| match outside_scope(scope, &r, row.line) {
                    None => Ok(r),
                    Some(e) => Err(e),
                });
            match checked {
                Ok(record) => {
                    out.account = record_account(&record);
                    out.key = Some(record_key(&record));
                    good.push((index, record));
                }
                Err(e) => {
                    out.field = e.column;
                    out.reason = Some(e.reason);
                }
            }
        }
        let mut recs = Vec::new();
        let mut execs = Vec::new();
        let mut prices = Vec::new();
        let mut order = Vec::with_capacity(good.len());
        for (index, record) in good {
            order.push(index);
            match record {
                Record::Recommendation(r) => recs.push(r),
                Record::Execution(e) => execs.push(e),
                Record::Price(p) => prices.push(p),
            }
        }
        // Items of one request are of one kind, so one of these holds them all.
        let mut stored = self.ingest_recommendations(&recs, now).await?;
        stored.extend(self.ingest_executions(&execs, now).await?);
        stored.extend(self.ingest_prices(&prices, now).await?);
        for (index, outcome) in order.into_iter().zip(stored) {
            let out = &mut outcomes[index];
            match outcome {
                RowOutcome::Inserted => {
                    out.status = ItemStatus::Imported;
                    out.reason = None;
                }
                RowOutcome::Duplicate => {
                    out.status = ItemStatus::Duplicate;
                    out.reason = None;
                }
                RowOutcome::Conflict(why) => {
                    out.status = ItemStatus::Conflict;
                    out.reason = Some(why);
                }
            }
        }
        Ok(outcomes)
    }

    /// Imports a file through the same detection and importers as the command line,
    /// on behalf of `scope`: rows of another account are rejected by line.
    pub async fn import_for<R: Read + Send + 'static>(
        &self,
        scope: Scope,
        kind: ImportKind,
        format: ImportFormat,
        input: R,
        now: DateTime<Utc>,
    ) -> std::result::Result<ImportReport, ImportError> {
        let report = import_reader_in(
            &self.store,
            kind,
            format,
            input,
            self.settings.tz,
            now,
            scope,
        )
        .await?;
        // Stated actions stored before inferred ones change what those were.
        self.reinfer_stored(&report.earliest, now).await?;
        Ok(report)
    }

    /// Whether the database answers and every migration is applied.
    pub async fn readiness(&self) -> Result<Readiness> {
        self.store.readiness().await
    }

    /// The outbox's depth and the scheduled runs by state, for monitoring.
    pub async fn figures(&self) -> Result<Figures> {
        self.store.figures().await
    }
}

/// Lowercase hex SHA-256 of `text`.
fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The item as one line, with the scope's account when the item names none. JSON
/// strings cannot hold a raw line break, so every line break is whitespace between
/// tokens and may become a space.
fn with_account(item: &str, scope: Scope) -> String {
    let line = item.replace(['\n', '\r'], " ");
    let Scope::Account(account) = scope else {
        return line;
    };
    if names_account(&line) {
        return line;
    }
    let rest = line[1..].trim_start();
    if rest.starts_with('}') {
        format!("{{\"account\": {}{rest}", account.0)
    } else {
        format!("{{\"account\": {}, {rest}", account.0)
    }
}

/// Whether an object has an `account` key, even a null one (the generic format reads
/// keys trimmed and in any case; a null account is then reported missing).
fn names_account(object: &str) -> bool {
    let Ok(map) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(object) else {
        // Not valid JSON: the row parser says why.
        return true;
    };
    map.keys().any(|k| k.trim().eq_ignore_ascii_case("account"))
}

fn record_account(record: &Record) -> Option<AccountId> {
    match record {
        Record::Recommendation(r) => Some(r.account),
        Record::Execution(e) => Some(e.account),
        Record::Price(_) => None,
    }
}

fn record_key(record: &Record) -> String {
    match record {
        Record::Recommendation(r) => r.external_id.clone(),
        Record::Execution(e) => e.broker_ref.clone(),
        Record::Price(p) => format!("{} {}", p.symbol, p.date),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_without_account_gets_the_tokens() {
        let one = Scope::Account(AccountId(7));
        assert_eq!(
            with_account("{\"external_id\": \"r\"}", one),
            "{\"account\": 7, \"external_id\": \"r\"}"
        );
        assert_eq!(with_account("{ }", one), "{\"account\": 7}");
        assert_eq!(
            with_account("{\"Account\": 8}", one),
            "{\"Account\": 8}",
            "a named account is kept (and then checked)"
        );
        assert_eq!(
            with_account("{\"account\": null,\n \"x\": 1}", one),
            "{\"account\": null,  \"x\": 1}",
            "a null account is left for the row parser to report"
        );
        assert_eq!(with_account("{\"x\": 1}", Scope::All), "{\"x\": 1}");
    }

    #[test]
    fn hashes_are_lowercase_hex_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
