//! `rlhf-bot tokens create|list|revoke`: the HTTP API's bearer tokens. A token is
//! printed once, when it is made; the database keeps only its hash.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::{UsageError, open_app};
use crate::config::Settings;
use crate::domain::AccountId;
use crate::store::StoredToken;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a token for one account (or, with --all-accounts, for an algorithm that feeds
    /// several: its items then name their account). It is printed once.
    Create {
        /// The account (Telegram chat id) the token may read and change.
        #[arg(
            long,
            required_unless_present = "all_accounts",
            conflicts_with = "all_accounts"
        )]
        account: Option<i64>,
        /// The token serves every account.
        #[arg(long)]
        all_accounts: bool,
        /// A name to know it by (e.g. the algorithm's).
        #[arg(long, default_value = "")]
        name: String,
        /// The token may read but not change anything.
        #[arg(long)]
        read_only: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the tokens (never their secrets).
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: from now on the API refuses it.
    Revoke {
        /// The token id (from `tokens list`).
        id: i64,
    },
}

fn token_json(t: &StoredToken) -> serde_json::Value {
    serde_json::json!({
        "id": t.id,
        "account": t.account,
        "name": t.name,
        "read_only": t.read_only,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    })
}

fn token_line(t: &StoredToken) -> String {
    format!(
        "#{:<4} {:<14} {:<10} {:<20} created {}{}",
        t.id,
        t.account
            .map_or_else(|| "all accounts".to_owned(), |a| format!("account {a}")),
        if t.read_only {
            "read-only"
        } else {
            "read-write"
        },
        if t.name.is_empty() { "-" } else { &t.name },
        t.created_at.format("%Y-%m-%d %H:%M UTC"),
        t.revoked_at
            .map(|r| format!(", revoked {}", r.format("%Y-%m-%d %H:%M UTC")))
            .unwrap_or_default()
    )
}

pub async fn tokens(
    cmd: TokensCommand,
    settings: &Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let app = open_app(settings.clone()).await?;
    match cmd {
        TokensCommand::Create {
            account,
            all_accounts,
            name,
            read_only,
            json,
        } => {
            let account = match (account, all_accounts) {
                (Some(a), false) => Some(AccountId(a)),
                (None, true) => None,
                _ => {
                    return Err(
                        UsageError("give --account CHAT_ID, or --all-accounts".to_owned()).into(),
                    );
                }
            };
            let (token, bearer) = app.create_token(account, &name, read_only, now).await?;
            if json {
                let mut v = token_json(&token);
                v["token"] = serde_json::Value::String(bearer);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("{}", token_line(&token));
                println!("{bearer}");
                eprintln!(
                    "Keep it now: it is shown only this once (the database keeps only its hash). \
                     Send it as `Authorization: Bearer {}…`.",
                    &bearer[..bearer.len().min(10)]
                );
            }
        }
        TokensCommand::List { json } => {
            let all = app.tokens().await?;
            if json {
                let v: Vec<_> = all.iter().map(token_json).collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else if all.is_empty() {
                println!("no tokens (make one with: rlhf-bot tokens create --account CHAT_ID)");
            } else {
                for t in &all {
                    println!("{}", token_line(t));
                }
            }
        }
        TokensCommand::Revoke { id } => {
            let t = app.revoke_token(id, now).await?;
            println!("{}", token_line(&t));
        }
    }
    app.store().close().await;
    Ok(ExitCode::SUCCESS)
}
