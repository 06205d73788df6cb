//! A file sent in the chat: a broker export (or the generic columns) imported into the
//! sender's account through [`App::import_executions`] — the same use case as
//! `rlhf-bot import executions` — answered with the format, the counts and a
//! "Reconcile now" button for the days the file touched.

use chrono::Utc;
use teloxide::net::Download;
use teloxide::prelude::*;

use super::HandlerResult;
use super::commands::Trader;
use super::transport::{direct, send, send_html};
use crate::app::App;
use crate::app::brokers::{AccountChoice, BrokerImportError};
use crate::bot::keyboards::Callback;
use crate::bot::{Button, TgBot, messages};
use crate::import::ImportFormat;
use crate::import::brokers::ParseError;

/// The longest span one "Reconcile now" tap reconciles, in days (a longer file is
/// reconciled with `/reconcile`, day by day).
const MAX_RECONCILE_SPAN_DAYS: i64 = 366;

pub async fn document(bot: TgBot, app: App, t: Trader, msg: Message) -> HandlerResult {
    let Some(doc) = msg.document() else {
        return Ok(());
    };
    let chat = ChatId(t.account.0);
    let size = u64::from(doc.file.size);
    // Telegram serves bots files up to 20 MB: refuse before asking for a larger one.
    if size > messages::MAX_DOCUMENT_BYTES {
        return send_html(&bot, chat, &messages::document_too_large(size), &[]).await;
    }
    let bytes = match download(&bot, &doc.file.id.0).await {
        Ok(bytes) => bytes,
        Err(Fetch::TooLarge(size)) => {
            let html = messages::document_too_large(size);
            return send_html(&bot, chat, &html, &[]).await;
        }
        Err(Fetch::Failed(e)) => {
            tracing::warn!(error = %e, chat = chat.0, "a document could not be downloaded");
            return send_html(&bot, chat, &messages::document_not_downloaded(), &[]).await;
        }
    };
    let outcome = app
        .import_executions(
            bytes,
            doc.file_name.as_deref(),
            ImportFormat::Auto,
            AccountChoice::Chat(t.account),
            false,
            Utc::now(),
        )
        .await;
    let (html, keyboard) = match outcome {
        Ok(o) => {
            let keyboard: Vec<Vec<Button>> = match (o.days.first(), o.days.last()) {
                (Some(from), Some(to)) if (*to - *from).num_days() <= MAX_RECONCILE_SPAN_DAYS => {
                    vec![vec![
                        Callback::ReconcileDays {
                            from: *from,
                            to: *to,
                        }
                        .button(messages::RECONCILE_NOW),
                    ]]
                }
                _ => Vec::new(),
            };
            (messages::document_imported(&o), keyboard)
        }
        Err(BrokerImportError::Parse(ParseError::Detect(e))) => {
            (messages::document_not_an_export(&e.to_string()), Vec::new())
        }
        Err(BrokerImportError::Parse(ParseError::File(e))) => {
            (messages::document_not_an_export(&e.to_string()), Vec::new())
        }
        Err(BrokerImportError::Account(sentence)) => (messages::refused(&sentence), Vec::new()),
        Err(e) => {
            tracing::error!(error = %e, chat = chat.0, "a document could not be imported");
            (messages::internal_error(), Vec::new())
        }
    };
    send_html(&bot, chat, &html, &keyboard).await
}

/// Why a document's bytes are not here.
enum Fetch {
    /// Larger than [`messages::MAX_DOCUMENT_BYTES`] (announced so, or found so while
    /// downloading): its size as far as known.
    TooLarge(u64),
    Failed(String),
}

/// The document's bytes: `getFile`, then the file itself, never more than
/// [`messages::MAX_DOCUMENT_BYTES`] of it in memory whatever the server sends.
async fn download(bot: &TgBot, file_id: &str) -> Result<Vec<u8>, Fetch> {
    let file = send(direct(bot).get_file(teloxide::types::FileId(file_id.to_owned())))
        .await
        .map_err(|e| Fetch::Failed(e.to_string()))?;
    if u64::from(file.size) > messages::MAX_DOCUMENT_BYTES {
        return Err(Fetch::TooLarge(u64::from(file.size)));
    }
    let mut capped = Capped {
        bytes: Vec::with_capacity(file.size as usize),
        over: false,
    };
    let done = direct(bot).download_file(&file.path, &mut capped).await;
    if capped.over {
        return Err(Fetch::TooLarge(messages::MAX_DOCUMENT_BYTES + 1));
    }
    done.map_err(|e| Fetch::Failed(e.to_string()))?;
    Ok(capped.bytes)
}

/// A buffer that refuses to grow past [`messages::MAX_DOCUMENT_BYTES`].
struct Capped {
    bytes: Vec<u8>,
    over: bool,
}

impl tokio::io::AsyncWrite for Capped {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if (this.bytes.len() + buf.len()) as u64 > messages::MAX_DOCUMENT_BYTES {
            this.over = true;
            return std::task::Poll::Ready(Err(std::io::Error::other(
                "the document is larger than announced",
            )));
        }
        this.bytes.extend_from_slice(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}
