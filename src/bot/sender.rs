//! The sender: drains the outbox through teloxide's `Throttle` (which keeps the Bot API's
//! rate limits and waits out a 429's `retry_after` before retrying on its own).
//!
//! - **Order per chat**: a chat's messages go strictly by outbox id. A chat's next
//!   message is offered only once the one before it was sent or parked, and a failure
//!   stops that chat until its retry time. Chats are drained concurrently.
//! - **Once per message**: a message is claimed (a conditional update that moves its
//!   `send_after` forward by a lease), sent, and marked sent right after Telegram
//!   answered. At-least-once window: if the process dies, or the database write fails,
//!   after Telegram took the message but before `sent_at` is written — or a request
//!   times out after Telegram received it — the message is sent again when its claim
//!   expires (a visible duplicate beats a lost message). Nothing else can duplicate it.
//! - **The claim is short**: it lasts the send time-out plus a margin
//!   ([`SenderConfig::for_timeout`]), so a process killed in the middle of a send holds
//!   its chat for about the send time-out, not minutes. A send never outlives its claim:
//!   it is abandoned (and retried as a time-out) at three quarters of the lease, so
//!   another sender never takes over a message that is still being sent.
//! - **Chats do not wait for each other**: the running sender drains each chat in a
//!   task of its own, so a chat held by a slow request (teloxide pauses 10 s after any
//!   5xx) delays only that chat; the other chats' messages go out meanwhile.
//! - **Failures**: a 429 that reaches us (Throttle retries them itself) reschedules the
//!   message after `retry_after`; network errors, timeouts and 5xx answers are retried
//!   with a doubling backoff, for as long as it takes (an outage delays, never drops);
//!   a permanent refusal (400 Bad Request, 403 Forbidden: bad HTML, chat not found, bot
//!   blocked) parks the message with its error so the chat's later messages go on.
//! - **Restarts** lose nothing: pending rows are simply there at the next drain.
//!
//! Error texts are stored and logged with any bot token removed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use base64::Engine;
use chrono::Duration;
use futures_util::future::join_all;
use teloxide::adaptors::Throttle;
use teloxide::payloads::{SendMessageSetters, SendPhotoSetters};
use teloxide::requests::Requester;
use teloxide::types::{ChatId, InputFile, ParseMode};
use teloxide::{ApiError, RequestError};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::bot::Outgoing;
use crate::domain::AccountId;
use crate::domain::Clock;
use crate::store::{OutboxMessage, Store, StoreError};

/// The shortest pause between two drains.
const MIN_WAIT: StdDuration = StdDuration::from_millis(20);

/// The bot the sender talks through (the same type as `crate::bot::TgBot`).
pub type ThrottledBot = Throttle<teloxide::Bot>;

/// How much longer a claim lasts than the send time-out: the time to mark the message
/// sent, and the throttle's queue.
pub const LEASE_MARGIN: StdDuration = StdDuration::from_secs(15);

/// How the sender paces itself.
#[derive(Debug, Clone, Copy)]
pub struct SenderConfig {
    /// How often the outbox is looked at when there is nothing to send.
    pub poll: StdDuration,
    /// How long a claim on a message lasts. A send is abandoned at three quarters of it,
    /// so it must be longer than any one request may take (the send time-out); it is
    /// also how long a chat waits after a process died in the middle of a send.
    pub lease: Duration,
    /// The wait after the first transient failure; it doubles per failure.
    pub backoff: Duration,
    /// The longest wait between two tries.
    pub max_backoff: Duration,
}

impl Default for SenderConfig {
    /// The pacing for the default send time-out (`SEND_TIMEOUT_SECS`, 30 s).
    fn default() -> Self {
        Self::for_timeout(StdDuration::from_secs(30))
    }
}

impl SenderConfig {
    /// The pacing for requests that time out after `send_timeout`: a claim lasts
    /// `send_timeout` + [`LEASE_MARGIN`].
    pub fn for_timeout(send_timeout: StdDuration) -> Self {
        Self {
            poll: StdDuration::from_secs(1),
            lease: Duration::from_std(send_timeout + LEASE_MARGIN).unwrap_or(Duration::seconds(45)),
            backoff: Duration::seconds(2),
            max_backoff: Duration::minutes(5),
        }
    }

    /// How long one send may take before it is abandoned: well inside the claim.
    fn send_deadline(&self) -> StdDuration {
        (self.lease * 3 / 4)
            .to_std()
            .unwrap_or(StdDuration::from_secs(1))
    }
}

/// What to do after a failed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Telegram asked us to wait this long.
    RetryAfter(StdDuration),
    /// Try again later (network, timeout, 5xx).
    Transient(String),
    /// Telegram will never take this message.
    Permanent(String),
}

/// Sorts a Bot API error into what to do about it.
///
/// teloxide drops the HTTP status, so a 5xx shows as an unrecognised description
/// (`Internal Server Error`, `Bad Gateway`) or as a body that is not JSON; every error
/// teloxide recognises by name is a 4xx about this message or chat.
pub fn classify(e: &RequestError) -> Failure {
    match e {
        RequestError::RetryAfter(s) => Failure::RetryAfter(s.duration()),
        // A bad token stops every message alike; waiting for an operator loses nothing.
        RequestError::Api(ApiError::InvalidToken) => Failure::Transient(e.to_string()),
        RequestError::Api(ApiError::Unknown(text)) => {
            if text.starts_with("Bad Request") || text.starts_with("Forbidden") {
                Failure::Permanent(e.to_string())
            } else {
                Failure::Transient(e.to_string())
            }
        }
        RequestError::Api(_) | RequestError::MigrateToChatId(_) => {
            Failure::Permanent(e.to_string())
        }
        _ => Failure::Transient(e.to_string()),
    }
}

/// `text` with the bot token removed: the token itself, and anything shaped like one
/// after `/bot` in a URL.
pub fn redact(text: &str, token: &str) -> String {
    let mut out = if token.is_empty() {
        text.to_owned()
    } else {
        text.replace(token, "<token>")
    };
    let mut from = 0;
    while let Some(pos) = out[from..].find("/bot") {
        let start = from + pos + 4;
        let rest = &out[start..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let looks_like_token = digits > 0 && rest.as_bytes().get(digits) == Some(&b':');
        if looks_like_token {
            let len = digits
                + 1
                + rest[digits + 1..]
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                    .count();
            out.replace_range(start..start + len, "<token>");
        }
        from = start;
    }
    out
}

/// What one drain did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub sent: usize,
    pub retried: usize,
    pub parked: usize,
}

impl std::ops::AddAssign for DrainReport {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.retried += o.retried;
        self.parked += o.parked;
    }
}

/// Drains the outbox.
#[derive(Clone)]
pub struct Sender {
    store: Store,
    bot: ThrottledBot,
    config: SenderConfig,
    clock: Arc<dyn Clock>,
    token: String,
}

impl Sender {
    pub fn new(
        store: Store,
        bot: ThrottledBot,
        config: SenderConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let token = bot.inner().token().to_owned();
        Self {
            store,
            bot,
            config,
            clock,
            token,
        }
    }

    /// Sends everything due now, chats side by side, each chat in order.
    pub async fn drain(&self) -> Result<DrainReport, StoreError> {
        let now = self.clock.now();
        let mut chats: Vec<AccountId> = self
            .store
            .outbox_heads()
            .await?
            .into_iter()
            .filter(|m| m.send_after <= now)
            .map(|m| m.account)
            .collect();
        chats.dedup();
        let mut report = DrainReport::default();
        for r in join_all(chats.into_iter().map(|c| self.drain_chat(c))).await {
            report += r?;
        }
        Ok(report)
    }

    /// Sends one chat's due messages in order until one fails or none is due.
    async fn drain_chat(&self, account: AccountId) -> Result<DrainReport, StoreError> {
        let mut report = DrainReport::default();
        while let Some(m) = self.store.outbox_head(account).await? {
            let now = self.clock.now();
            if m.send_after > now {
                break;
            }
            if !self
                .store
                .claim_message(m.id, now, now + self.config.lease)
                .await?
            {
                // Another sender holds it.
                break;
            }
            let attempt = m.attempts + 1;
            let sent = tokio::time::timeout(self.config.send_deadline(), self.send(&m))
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::Transient(
                        "the request took longer than its claim on the message".to_owned(),
                    ))
                });
            match sent {
                Ok(()) => {
                    self.store.mark_sent(m.id, self.clock.now()).await?;
                    tracing::debug!(id = m.id, chat = account.0, kind = %m.kind, attempt, "sent");
                    report.sent += 1;
                }
                Err(Failure::Permanent(error)) => {
                    let error = redact(&error, &self.token);
                    tracing::error!(id = m.id, chat = account.0, kind = %m.kind, %error,
                        "Telegram refused the message; parked, the chat goes on");
                    self.store
                        .park_message(m.id, &error, self.clock.now())
                        .await?;
                    report.parked += 1;
                }
                Err(Failure::RetryAfter(wait)) => {
                    let wait = Duration::from_std(wait).unwrap_or(self.config.max_backoff);
                    let error = format!("Telegram asked to wait {} s", wait.num_seconds());
                    tracing::warn!(id = m.id, chat = account.0, %error, "rate limited");
                    self.store
                        .retry_message(m.id, self.clock.now() + wait, &error)
                        .await?;
                    report.retried += 1;
                    break;
                }
                Err(Failure::Transient(error)) => {
                    let error = redact(&error, &self.token);
                    let wait = self.backoff(attempt);
                    tracing::warn!(id = m.id, chat = account.0, attempt, %error,
                        retry_in_s = wait.num_seconds(), "sending failed; will retry");
                    self.store
                        .retry_message(m.id, self.clock.now() + wait, &error)
                        .await?;
                    report.retried += 1;
                    break;
                }
            }
        }
        Ok(report)
    }

    fn backoff(&self, attempt: i64) -> Duration {
        let doublings = u32::try_from(attempt.clamp(1, 20) - 1).unwrap_or(0);
        (self.config.backoff * 2_i32.saturating_pow(doublings)).min(self.config.max_backoff)
    }

    async fn send(&self, m: &OutboxMessage) -> Result<(), Failure> {
        let outgoing = m
            .outgoing()
            .map_err(|e| Failure::Permanent(format!("the stored message cannot be read: {e}")))?;
        let chat = ChatId(m.account.0);
        let result = match outgoing {
            Outgoing::Text { html, keyboard } => {
                let request = self
                    .bot
                    .send_message(chat, html)
                    .parse_mode(ParseMode::Html);
                if keyboard.is_empty() {
                    request.await.map(drop)
                } else {
                    request
                        .reply_markup(super::handlers::transport::markup(&keyboard))
                        .await
                        .map(drop)
                }
            }
            Outgoing::Photo {
                png_base64,
                caption,
            } => {
                let png = base64::engine::general_purpose::STANDARD
                    .decode(png_base64.as_bytes())
                    .map_err(|e| {
                        Failure::Permanent(format!("the stored picture is not base64: {e}"))
                    })?;
                self.bot
                    .send_photo(chat, InputFile::memory(png).file_name("chart.png"))
                    .caption(caption)
                    .parse_mode(ParseMode::Html)
                    .await
                    .map(drop)
            }
        };
        result.map_err(|e| classify(&e))
    }

    /// Drains until `shutdown` turns true: each chat with a message due is drained in a
    /// task of its own (one at a time per chat), so a chat held by a slow request does
    /// not hold the others. The outbox is looked at again every `poll`, sooner when a
    /// message falls due or a chat's drain ends. Drains in progress finish first, so no
    /// message is left between "sent" and "marked sent" by a shutdown.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("outbox sender started");
        let mut draining: JoinSet<Result<DrainReport, StoreError>> = JoinSet::new();
        // The chat each running drain serves.
        let mut busy: HashMap<tokio::task::Id, AccountId> = HashMap::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            while let Some(done) = draining.try_join_next_with_id() {
                finished(done, &mut busy);
            }
            // Sooner than `poll` only when a message falls due sooner, and never a busy
            // loop: after a failed look (the database is away) wait the whole `poll`.
            let wait = match self.store.outbox_heads().await {
                Ok(heads) => {
                    let now = self.clock.now();
                    let mut next = self.config.poll;
                    for m in heads {
                        if busy.values().any(|a| *a == m.account) {
                            continue;
                        }
                        if m.send_after <= now {
                            let sender = self.clone();
                            let task =
                                draining.spawn(async move { sender.drain_chat(m.account).await });
                            busy.insert(task.id(), m.account);
                        } else {
                            next = next.min((m.send_after - now).to_std().unwrap_or_default());
                        }
                    }
                    next.max(MIN_WAIT)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the outbox cannot be read; trying again");
                    self.config.poll
                }
            };
            tokio::select! {
                _ = shutdown.changed() => {}
                _ = tokio::time::sleep(wait) => {}
                Some(done) = draining.join_next_with_id() => finished(done, &mut busy),
            }
        }
        while let Some(done) = draining.join_next_with_id().await {
            finished(done, &mut busy);
        }
        tracing::info!("outbox sender stopped");
    }
}

/// Logs what a chat's drain did and frees the chat for the next one.
fn finished(
    done: Result<(tokio::task::Id, Result<DrainReport, StoreError>), tokio::task::JoinError>,
    busy: &mut HashMap<tokio::task::Id, AccountId>,
) {
    let (id, report) = match done {
        Ok((id, report)) => (id, report),
        Err(e) => {
            // A drain that panicked: its claim expires with its lease.
            tracing::error!(error = %e, "an outbox drain stopped unexpectedly");
            busy.remove(&e.id());
            return;
        }
    };
    let chat = busy.remove(&id).map_or(0, |a| a.0);
    match report {
        Ok(r) if r != DrainReport::default() => tracing::info!(
            chat,
            sent = r.sent,
            retried = r.retried,
            parked = r.parked,
            "outbox drained"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, chat, "outbox drain failed; trying again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_removed_from_error_texts() {
        let token = "123456:ABC-def_9";
        let text = "error sending request for url (https://api.telegram.org/bot123456:ABC-def_9/sendMessage)";
        assert_eq!(
            redact(text, token),
            "error sending request for url (https://api.telegram.org/bot<token>/sendMessage)"
        );
        // Even a token other than ours, shaped like one.
        assert_eq!(
            redact("http://h/bot42:xyz/getMe", ""),
            "http://h/bot<token>/getMe"
        );
        assert_eq!(redact("/bots are fine", ""), "/bots are fine");
    }

    #[test]
    fn errors_sort_into_wait_retry_and_park() {
        use teloxide::types::Seconds;
        assert_eq!(
            classify(&RequestError::RetryAfter(Seconds::from_seconds(3))),
            Failure::RetryAfter(StdDuration::from_secs(3))
        );
        assert!(matches!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Internal Server Error".into()
            ))),
            Failure::Transient(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::Unknown(
                "Bad Request: something new".into()
            ))),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::ChatNotFound)),
            Failure::Permanent(_)
        ));
        assert!(matches!(
            classify(&RequestError::Api(ApiError::InvalidToken)),
            Failure::Transient(_)
        ));
    }
}
