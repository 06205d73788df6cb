//! Every sentence the bot says, in Telegram HTML, with every dynamic value escaped; and
//! the one splitter that keeps messages under Telegram's 4096-character limit (counted as
//! Telegram counts it: the parsed text, in UTF-16 units).
//!
//! Wording is reviewed here and nowhere else: handlers and posts call these functions.
//! Cards stay narrow (short lines) so they read on a phone.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use teloxide::utils::command::BotCommands;

use super::commands::Period;
use super::commands::{ArgError, Command};
use super::dialogue::CandidateStep;
use super::keyboards::MatchesQuery;
use crate::app::outcomes::OutcomeReport;
use crate::app::reconcile::DayReport;
use crate::domain::outcome::Outcome;
use crate::domain::reconcile::ClosureNotice;
use crate::domain::{MatchType, Money, ReasonCode, Side};
use crate::learning::analytics::{Accuracy, DivergenceRate, ModificationCount};
use crate::learning::candidates::{Candidate, Decision, Final, State as CandidateState};
use crate::learning::summary::Week;
use crate::store::MatchRecord;
use crate::store::StoredSummary;

/// Telegram's limit on a message: characters of its text once the HTML is parsed, in
/// UTF-16 code units ([`telegram_len`]).
pub const MAX_MESSAGE: usize = 4096;
/// Telegram's limit on a photo caption, counted as [`MAX_MESSAGE`].
pub const MAX_CAPTION: usize = 1024;

pub const PREVIOUS: &str = "‹ Previous";
pub const NEXT: &str = "Next ›";
pub const CONFIRM_IMPLEMENT: &str = "Yes, implement";
pub const NOT_NOW: &str = "Not now";
pub const MARK_REVIEWED: &str = "Mark reviewed";

/// Escapes `<`, `>`, `&` and `"` for Telegram HTML. Every value that did not come from
/// this module goes through here (`teloxide::utils::html::bold()` does not escape).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it: the text left once the HTML is parsed (a tag counts
/// nothing, `&amp;` counts one), in UTF-16 code units. This is what the 4096 limit of a
/// message (and the 1024 of a caption) applies to.
pub fn telegram_len(html: &str) -> usize {
    tokens(html).map(|(_, t)| t.units()).sum()
}

/// The longest piece of the trader's own input an error reply quotes, in characters.
pub const MAX_ECHO: usize = 40;
/// The longest problem sentence an error reply shows, in characters.
const MAX_PROBLEM: usize = 300;

/// `s` cut to `max` characters, with `…` when something was cut: what an error reply
/// quotes of the trader's input, so a pasted page does not come back whole.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_owned(),
        Some((end, _)) => format!("{}…", &s[..end]),
    }
}

/// Splits `html` into messages of at most `limit` characters as Telegram counts them
/// ([`telegram_len`]).
///
/// A cut falls, in this order of preference, at a line break, at a space, or between two
/// characters — always outside every element (`<b>…</b>`, `<code>…</code>`), never inside
/// a tag, an entity (`&amp;`) or a surrogate pair. The line break or space of a cut is
/// dropped (Telegram would trim it anyway), and a part with nothing but white space is
/// not sent (Telegram refuses it). Only an element longer than a whole message — which
/// this module never writes — is cut inside: its tags are closed at the end of one part
/// and opened again at the start of the next, so every part stays valid HTML.
///
/// A single character or entity wider than `limit` (only possible with a limit under 2)
/// is a part of its own.
pub fn split(html: &str, limit: usize) -> Vec<String> {
    pieces(html, limit)
        .into_iter()
        .filter(|p| !p.blank)
        .map(|p| format!("{}{}{}", p.reopen, &html[p.range], p.close))
        .collect()
}

/// One part of a split: a slice of the original, with the tags closed after it and
/// reopened before it when the cut fell inside an element.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    reopen: String,
    range: std::ops::Range<usize>,
    close: String,
    /// Nothing but white space (and tags): not sent.
    blank: bool,
}

/// What Telegram's HTML parser sees: tags and text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    /// `<name …>`.
    Open(&'a str),
    /// `</name>`.
    Close(&'a str),
    /// A character or an entity: what it adds to the text, in UTF-16 units.
    Text { units: usize, kind: TextKind },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Newline,
    Space,
    Other,
}

impl Token<'_> {
    fn units(self) -> usize {
        match self {
            Token::Text { units, .. } => units,
            Token::Open(_) | Token::Close(_) => 0,
        }
    }
}

/// The tokens of `html` with their byte ranges.
fn tokens(html: &str) -> impl Iterator<Item = (std::ops::Range<usize>, Token<'_>)> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let rest = &html[at..];
        let c = rest.chars().next()?;
        let start = at;
        let (len, token) = match c {
            '<' => match rest.find('>') {
                Some(end) => {
                    let inner = &rest[1..end];
                    let token = match inner.strip_prefix('/') {
                        Some(name) => Token::Close(tag_name(name)),
                        None => Token::Open(tag_name(inner)),
                    };
                    (end + 1, token)
                }
                None => (1, text_token(1, c)),
            },
            '&' => match entity(rest) {
                Some((len, units)) => (
                    len,
                    Token::Text {
                        units,
                        kind: TextKind::Other,
                    },
                ),
                None => (1, text_token(1, c)),
            },
            c => (c.len_utf8(), text_token(c.len_utf16(), c)),
        };
        at += len;
        Some((start..at, token))
    })
}

fn tag_name(inner: &str) -> &str {
    let inner = inner.trim_start();
    let end = inner
        .find(|c: char| c.is_whitespace() || c == '/')
        .unwrap_or(inner.len());
    &inner[..end]
}

fn text_token(units: usize, c: char) -> Token<'static> {
    let kind = match c {
        '\n' => TextKind::Newline,
        c if c.is_whitespace() => TextKind::Space,
        _ => TextKind::Other,
    };
    Token::Text { units, kind }
}

/// The byte length and parsed UTF-16 width of the entity `rest` starts with, if it starts
/// with one. Telegram knows `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities; any
/// other `&name;` is counted as written (an upper bound).
fn entity(rest: &str) -> Option<(usize, usize)> {
    let end = rest.bytes().take(12).position(|b| b == b';')?;
    let name = &rest[1..end];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#') {
        return None;
    }
    let units = match name {
        "lt" | "gt" | "amp" | "quot" => 1,
        _ => name
            .strip_prefix("#x")
            .or_else(|| name.strip_prefix("#X"))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
            .and_then(char::from_u32)
            .map_or(end + 1, char::len_utf16),
    };
    Some((end + 1, units))
}

/// The parts of a split (blank ones included), in order; together with the dropped
/// line breaks and spaces between them they cover `html` exactly.
fn pieces(html: &str, limit: usize) -> Vec<Piece> {
    let tokens: Vec<_> = tokens(html).collect();
    let mut pieces = Vec::new();
    // Elements left open by a cut inside them: (name, opening tag as written).
    let mut carried: Vec<(&str, &str)> = Vec::new();
    let mut first = 0;
    while first < tokens.len() {
        let reopen: String = carried.iter().map(|(_, tag)| *tag).collect();
        let mut open = carried.clone();
        let mut units = 0;
        // The last token after which a cut may fall, by preference.
        let (mut at_newline, mut at_space, mut outside, mut inside) = (None, None, None, None);
        let mut next = first;
        while next < tokens.len() {
            let (range, token) = tokens[next].clone();
            if units + token.units() > limit && next > first {
                break;
            }
            units += token.units();
            match token {
                Token::Open(name) => open.push((name, &html[range])),
                Token::Close(name) => {
                    if let Some(i) = open.iter().rposition(|(n, _)| *n == name) {
                        open.truncate(i);
                    }
                }
                Token::Text { kind, .. } => {
                    if open.is_empty() {
                        match kind {
                            TextKind::Newline => at_newline = Some(next),
                            TextKind::Space => at_space = Some(next),
                            TextKind::Other => {}
                        }
                    }
                    inside = Some(next);
                }
            }
            if open.is_empty() {
                outside = Some(next);
            }
            next += 1;
        }
        let start = tokens[first].0.start;
        let (end, resume, close) = if next == tokens.len() {
            (html.len(), next, String::new())
        } else if let Some(k) = at_newline.or(at_space) {
            // The line break or space itself is dropped.
            (tokens[k].0.start, k + 1, String::new())
        } else if let Some(k) = outside {
            (tokens[k].0.end, k + 1, String::new())
        } else {
            // One element longer than the limit: close it here, open it again after.
            let k = inside.unwrap_or(next - 1);
            open = carried.clone();
            for (range, token) in &tokens[first..=k] {
                match *token {
                    Token::Open(name) => open.push((name, &html[range.clone()])),
                    Token::Close(name) => {
                        if let Some(i) = open.iter().rposition(|(n, _)| *n == name) {
                            open.truncate(i);
                        }
                    }
                    Token::Text { .. } => {}
                }
            }
            let close = open
                .iter()
                .rev()
                .map(|(name, _)| format!("</{name}>"))
                .collect();
            (tokens[k].0.end, k + 1, close)
        };
        let blank = tokens[first..resume]
            .iter()
            .filter(|(r, _)| r.end <= end)
            .all(|(_, t)| {
                !matches!(
                    t,
                    Token::Text {
                        kind: TextKind::Other,
                        ..
                    }
                )
            });
        pieces.push(Piece {
            reopen,
            range: start..end,
            close: close.clone(),
            blank,
        });
        carried = if close.is_empty() { Vec::new() } else { open };
        first = resume;
    }
    pieces
}

// ---- onboarding, help, authorization ----

pub fn welcome(first_name: &str) -> String {
    format!(
        "Hello, {}.\n\nI compare the algorithm's recommendations with what you actually \
         traded, ask you why when you diverged, and learn from it.\n\n\
         Every evening I post the day's divergences with buttons for the reason; weekly \
         summaries follow on Saturdays.\n\nSee /help for every command.",
        esc(first_name)
    )
}

/// `/help`: the commands' own descriptions.
pub fn help() -> String {
    let mut out = String::from("<b>Commands</b>\n");
    for cmd in Command::bot_commands() {
        out.push_str(&format!(
            "{} — {}\n",
            esc(&cmd.command),
            esc(&cmd.description)
        ));
    }
    out.push_str(&format!(
        "\nDates are YYYY-MM-DD. Reason codes: {}.",
        ReasonCode::ALL
            .iter()
            .map(|c| format!("<code>{}</code>", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out
}

pub fn your_id(user_id: i64) -> String {
    format!(
        "Your Telegram user id is <code>{user_id}</code>.\nThe operator adds it to \
         ALLOWED_USER_IDS to let you use this bot."
    )
}

/// The one answer a stranger gets in a private chat.
pub fn refusal(user_id: i64) -> String {
    format!(
        "Sorry, this bot is private and only serves the accounts it was set up for.\n\
         If you should have access, give the operator your user id: <code>{user_id}</code>."
    )
}

/// The one answer in a group chat.
pub fn group_refusal() -> String {
    "Sorry, I only talk in private chats with the traders I serve.".to_owned()
}

/// A tap by someone not served.
pub const CALLBACK_REFUSED: &str = "Sorry, this bot is private.";
/// A button whose data this version does not understand (or was forged).
pub const CALLBACK_STALE: &str = "This button is no longer valid.";

pub fn unknown_command() -> String {
    "I don't know that command. See /help.".to_owned()
}

pub fn not_understood() -> String {
    "I only understand commands. See /help.".to_owned()
}

/// A wrong argument with its example. The problem quotes the trader's input (cut to
/// [`MAX_ECHO`] where it is made); the sentence as a whole is bounded here too.
pub fn bad_argument(e: &ArgError) -> String {
    format!(
        "⚠️ {}. Example: <code>{}</code>",
        esc(&clip(&e.problem, MAX_PROBLEM)),
        esc(e.example)
    )
}

/// A store refusal or missing row, said as it is (the store words them for people),
/// bounded: a refusal may quote what the trader sent.
pub fn refused(reason: &str) -> String {
    format!("⚠️ {}.", esc(&clip(reason, MAX_PROBLEM)))
}

// ---- broker exports sent as documents ----

pub const RECONCILE_NOW: &str = "Reconcile now";
pub const RECONCILED_TOAST: &str = "Reconciled";
pub const RECONCILE_SPAN_TOO_LONG: &str =
    "That file spans more than a year; reconcile its days with /reconcile";

/// Telegram lets a bot download files up to 20 MB.
pub const MAX_DOCUMENT_BYTES: u64 = 20 * 1024 * 1024;

/// A document over [`MAX_DOCUMENT_BYTES`], refused before it is downloaded.
pub fn document_too_large(bytes: u64) -> String {
    format!(
        "⚠️ That file is {:.1} MB; a bot can download at most 20 MB from Telegram. Export a \
         shorter date range and send it again.",
        bytes as f64 / (1024.0 * 1024.0)
    )
}

/// A document that is not an export rlhf-bot reads (`why` says what it lacks).
pub fn document_not_an_export(why: &str) -> String {
    format!(
        "⚠️ I could not read that file as a broker export: {}. Send the CSV your broker's \
         transaction history download gives, as it was downloaded.",
        esc(&clip(why, MAX_PROBLEM))
    )
}

/// The card for an imported file: its format, what was stored, what was left out, the
/// first few rows refused and stored executions corrected (the app's own words).
pub fn document_imported(outcome: &crate::app::brokers::ImportOutcome) -> String {
    let r = &outcome.report;
    let mut out = format!(
        "📥 Read a <b>{}</b> export: imported {}, duplicates {}, rejected {}.",
        esc(outcome.format.as_str()),
        r.imported,
        r.duplicates,
        r.rejected
    );
    if !outcome.ignored.is_empty() {
        let kinds: Vec<String> = outcome
            .ignored
            .iter()
            .map(|(k, n)| format!("{} {n}", esc(k)))
            .collect();
        out.push_str(&format!("\nIgnored: {}.", kinds.join(", ")));
    }
    const SHOWN: usize = 3;
    for e in r.errors.iter().take(SHOWN) {
        out.push_str(&format!("\n• {}", esc(&clip(&e.to_string(), MAX_PROBLEM))));
    }
    if r.errors.len() > SHOWN {
        out.push_str(&format!("\n… and {} more.", r.errors.len() - SHOWN));
    }
    if let Some(corrected) = outcome.corrections_report(SHOWN) {
        out.push_str(&format!("\n{}", esc(&corrected)));
    }
    match (outcome.days.first(), outcome.days.last()) {
        (Some(first), Some(last)) if first == last => {
            out.push_str(&format!("\nIts events fall on {first}."));
        }
        (Some(first), Some(last)) => {
            out.push_str(&format!("\nIts events fall between {first} and {last}."));
        }
        _ => out.push_str("\nIt holds no option events."),
    }
    out
}

/// The card after "Reconcile now".
pub fn document_reconciled(
    from: NaiveDate,
    to: NaiveDate,
    written: usize,
    queued: usize,
) -> String {
    let days = if from == to {
        from.to_string()
    } else {
        format!("{from} to {to}")
    };
    let cards = if queued == 0 {
        "see /matches".to_owned()
    } else {
        format!("{queued} card(s) follow")
    };
    format!("✅ Reconciled {days}: {written} row(s) written; {cards}.")
}

/// A document that could not be downloaded from Telegram.
pub fn document_not_downloaded() -> String {
    "⚠️ I could not download that file from Telegram; please send it again.".to_owned()
}

pub fn internal_error() -> String {
    "Something went wrong on my side; it has been logged. Please try again later.".to_owned()
}

// ---- matches ----

fn type_label(t: MatchType) -> &'static str {
    match t {
        MatchType::Consent => "consent",
        MatchType::Modify => "modify",
        MatchType::Reject => "reject",
        MatchType::Independent => "independent",
        MatchType::NoAction => "no action",
    }
}

/// A button's label for a reason code (short: three fit in a row on a phone).
pub fn reason_label(code: ReasonCode) -> &'static str {
    match code {
        ReasonCode::Timing => "Timing",
        ReasonCode::PremiumLow => "Low premium",
        ReasonCode::IvLow => "Low IV",
        ReasonCode::EarningsConcern => "Earnings",
        ReasonCode::GutFeeling => "Gut feeling",
        ReasonCode::BetterOpportunity => "Better opp.",
        ReasonCode::RiskTooHigh => "Too risky",
        ReasonCode::AlreadyExposed => "Exposed",
        ReasonCode::Other => "Other…",
    }
}

fn differences(m: &MatchRecord) -> Option<String> {
    if !m.modifications.is_empty() {
        return Some(esc(&m.modifications.join(", ")));
    }
    let d = &m.differences;
    let mut parts = Vec::new();
    if let Some(s) = d.strike.filter(|s| *s != Money::ZERO) {
        parts.push(format!("strike {}", signed_money(s)));
    }
    if let Some(n) = d.dte.filter(|n| *n != 0) {
        parts.push(format!("dte {n:+}"));
    }
    if let Some(n) = d.contracts.filter(|n| *n != 0) {
        parts.push(format!("contracts {n:+}"));
    }
    if let Some(p) = d.premium.filter(|p| *p != Money::ZERO) {
        parts.push(format!("premium {}", signed_money(p)));
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

fn signed_money(m: Money) -> String {
    if m > Money::ZERO {
        format!("+{m}")
    } else {
        m.to_string()
    }
}

fn reason_part(m: &MatchRecord) -> Option<String> {
    let code = m.reason_code.as_deref()?;
    Some(match &m.reason_text {
        Some(t) => format!("{} — {}", esc(code), esc(t)),
        None => esc(code),
    })
}

/// One line of a listing.
pub fn match_line(m: &MatchRecord) -> String {
    let mut line = format!(
        "<code>#{}</code> {} <b>{}</b> {}",
        m.id,
        m.day,
        esc(&m.underlying),
        type_label(m.match_type)
    );
    if let Some(d) = differences(m) {
        line.push_str(&format!(" ({d})"));
    }
    if m.match_type.is_divergence() {
        match m.reason_code.as_deref() {
            Some(code) => line.push_str(&format!(" · {}", esc(code))),
            None => line.push_str(" · <i>no reason yet</i>"),
        }
    }
    line
}

/// A page of `/matches`.
pub fn match_list(q: &MatchesQuery, matches: &[MatchRecord]) -> String {
    let mut filters = Vec::new();
    if let Some(f) = q.from {
        filters.push(format!("from {f}"));
    }
    if let Some(t) = q.to {
        filters.push(format!("to {t}"));
    }
    if let Some(t) = q.match_type {
        filters.push(type_label(t).to_owned());
    }
    if let Some(s) = &q.symbol {
        filters.push(esc(s.as_str()));
    }
    let head = if filters.is_empty() {
        format!("<b>Matches</b> · page {}", q.page + 1)
    } else {
        format!(
            "<b>Matches</b> ({}) · page {}",
            filters.join(", "),
            q.page + 1
        )
    };
    if matches.is_empty() {
        return if q.page == 0 {
            format!("{head}\nNo matches.")
        } else {
            format!("{head}\nNo more matches.")
        };
    }
    let mut out = head;
    for m in matches {
        out.push('\n');
        out.push_str(&match_line(m));
    }
    out.push_str("\n\nDetails: /match ID");
    out
}

/// `/match ID`: everything about one match.
pub fn match_detail(m: &MatchRecord) -> String {
    let mut out = format!(
        "<b>Match #{}</b> · {}\n{} <b>{}</b>",
        m.id,
        m.day,
        type_label(m.match_type),
        esc(&m.underlying)
    );
    out.push_str(&format!(
        "\nRecommendation: {}",
        m.recommendation.as_deref().map_or("none".to_owned(), esc)
    ));
    out.push_str(&format!(
        "\nExecutions: {}",
        if m.executions.is_empty() {
            "none".to_owned()
        } else {
            esc(&m.executions.join(", "))
        }
    ));
    if let Some(d) = differences(m) {
        out.push_str(&format!("\nDifferences: {d}"));
    }
    if m.match_type.is_divergence() {
        out.push_str(&format!(
            "\nReason: {}",
            reason_part(m).unwrap_or_else(|| "<i>none yet</i>".to_owned())
        ));
    }
    match m.outcomes.as_deref() {
        Some([]) | None => out.push_str("\nOutcomes: not tracked yet"),
        Some(outcomes) => {
            out.push_str("\n<b>Outcomes</b>");
            for o in outcomes {
                out.push('\n');
                out.push_str(&outcome_line(o));
            }
        }
    }
    out
}

fn side_label(s: Side) -> &'static str {
    match s {
        Side::Actual => "You",
        Side::Algorithm => "Algorithm",
    }
}

fn outcome_line(o: &Outcome) -> String {
    let pnl = o.realized_pnl.map_or("P&amp;L pending".to_owned(), |p| {
        format!("P&amp;L {}", p.to_dollars_display())
    });
    format!(
        "{}: {} ×{} · {}",
        side_label(o.side),
        esc(o.status.as_str()),
        o.contracts,
        pnl
    )
}

/// The short card posted for a divergence (with the reason buttons under it).
pub fn reason_card(m: &MatchRecord) -> String {
    let mut out = format!(
        "<b>{}</b> · {} · {}\n",
        esc(&m.underlying),
        type_label(m.match_type),
        m.day
    );
    if let Some(d) = differences(m) {
        out.push_str(&d);
        out.push('\n');
    }
    match reason_part(m) {
        Some(r) => out.push_str(&format!("✅ Reason: {r}")),
        None => out.push_str(&format!("Why? <code>#{}</code>", m.id)),
    }
    out
}

/// The card after a reason was recorded (the buttons are removed).
pub fn reason_recorded(m: &MatchRecord) -> String {
    reason_card(m)
}

/// The short answer to a reason tap.
pub fn reason_toast(code: ReasonCode) -> String {
    format!("Recorded: {}", reason_label(code))
}

pub const ALREADY_RECORDED: &str = "Already recorded.";

/// After `other`: asks for the text.
pub fn ask_reason_text(match_id: i64) -> String {
    format!(
        "What was the reason for match <code>#{match_id}</code>? Reply with a short text, \
         or /cancel."
    )
}

pub const ASK_TEXT_TOAST: &str = "Type the reason.";

pub fn reason_saved(m: &MatchRecord) -> String {
    format!(
        "Recorded for match <code>#{}</code>.\n{}",
        m.id,
        reason_card(m)
    )
}

pub fn cancelled() -> String {
    "Cancelled.".to_owned()
}

pub fn nothing_to_cancel() -> String {
    "There is nothing to cancel.".to_owned()
}

/// Said when a command ends a question the bot was waiting on (the command then runs).
pub fn question_dropped(asked: &super::dialogue::State) -> Option<String> {
    use super::dialogue::State;
    match asked {
        State::Idle => None,
        State::AwaitingReasonText { match_id } => Some(format!(
            "I stopped waiting for the reason for match <code>#{match_id}</code>; tap \
             <i>Other…</i> again to give it."
        )),
        State::AwaitingCandidateReason { candidate, step } => {
            let what = match step {
                CandidateStep::Reject => "rejecting",
                CandidateStep::Rollback => "rolling back",
                CandidateStep::Modify => "modifying",
            };
            Some(format!(
                "I stopped waiting for why you are {what} candidate <code>#{candidate}</code>; \
                 tap the button again to give it."
            ))
        }
    }
}

pub fn text_expected() -> String {
    "Please reply with the reason as text, or /cancel.".to_owned()
}

// ---- jobs: reconciliation and outcomes ----

/// The first message of a night: counts per match type.
pub fn reconciliation_summary(
    day: NaiveDate,
    matches: &[MatchRecord],
    closure: Option<&ClosureNotice>,
) -> String {
    let mut counts: BTreeMap<MatchType, usize> = BTreeMap::new();
    for m in matches {
        *counts.entry(m.match_type).or_default() += 1;
    }
    let closed = closure.map(closure_line).unwrap_or_default();
    if matches.is_empty() {
        return format!("<b>Reconciled {day}</b>\nNothing to reconcile that day.{closed}");
    }
    let parts: Vec<String> = MatchType::ALL
        .iter()
        .filter_map(|t| counts.get(t).map(|n| format!("{n} {}", type_label(*t))))
        .collect();
    let open = matches
        .iter()
        .filter(|m| m.match_type.is_divergence() && m.reason_code.is_none())
        .count();
    let mut out = format!("<b>Reconciled {day}</b>\n{}", parts.join(" · "));
    if open > 0 {
        out.push_str(&format!(
            "\n{open} divergence{} below: tap a reason.",
            if open == 1 { "" } else { "s" }
        ));
    }
    out.push_str(&closed);
    out
}

/// "Market closed today: 2 recommendations stay open until 2025-01-21." (with the line
/// break before it).
fn closure_line(c: &ClosureNotice) -> String {
    format!(
        "\nMarket closed today: {} recommendation{} stay{} open until {}.",
        c.held_open,
        if c.held_open == 1 { "" } else { "s" },
        if c.held_open == 1 { "s" } else { "" },
        c.until
    )
}

/// The reply to `/reconcile DATE`; `queued` messages (the night's summary and cards)
/// follow through the outbox.
pub fn reconcile_done(report: &DayReport, queued: usize) -> String {
    let day = report.day.map_or(String::new(), |d| d.to_string());
    let done = if report.written == 0 {
        format!("Reconciled {day}: nothing changed.")
    } else {
        format!("Reconciled {day}: {} row(s) written.", report.written)
    };
    if queued == 0 {
        format!("{done} Its cards were posted before; see /matches.")
    } else {
        format!("{done} The day's cards follow.")
    }
}

pub fn chart_caption_divergence(period: impl Into<Period>) -> String {
    format!("Divergence rate by week, {}", period.into().label())
}

pub fn chart_caption_pnl(period: impl Into<Period>) -> String {
    format!(
        "Cumulative realized P&amp;L by the day positions closed, you vs the algorithm, {}",
        period.into().label()
    )
}

pub fn chart_no_data(period: impl Into<Period>) -> String {
    format!("Nothing to chart in {} yet.", period.into().within())
}

/// The reply to `/track DATE`.
pub fn track_done(report: &OutcomeReport) -> String {
    let day = report.as_of.map_or(String::new(), |d| d.to_string());
    if report.matches == 0 {
        return format!("Outcomes as of {day}: nothing to track.");
    }
    let statuses: Vec<String> = report
        .statuses
        .iter()
        .map(|(s, n)| format!("{n} {}", esc(s)))
        .collect();
    format!(
        "Outcomes as of {day}: {} match(es) tracked.\n{}",
        report.matches,
        statuses.join(" · ")
    )
}

/// The outcome update (may be long; split by the caller).
pub fn outcomes_update(as_of: NaiveDate, matches: &[MatchRecord]) -> String {
    let mut out = format!("<b>Outcomes as of {as_of}</b>");
    for m in matches {
        let Some(outcomes) = m.outcomes.as_deref().filter(|o| !o.is_empty()) else {
            continue;
        };
        out.push_str(&format!(
            "\n<code>#{}</code> <b>{}</b> {}",
            m.id,
            esc(&m.underlying),
            type_label(m.match_type)
        ));
        for o in outcomes {
            out.push_str("\n  ");
            out.push_str(&outcome_line(o));
        }
    }
    out
}

// ---- learning: summaries, candidates, analytics ----

pub fn decision_label(d: Decision) -> &'static str {
    match d {
        Decision::Implement => "Implement",
        Decision::Defer => "Defer",
        Decision::Reject => "Reject",
    }
}

pub fn verdict_label(v: Final) -> &'static str {
    match v {
        Final::Keep => "Keep",
        Final::Rollback => "Roll back",
        Final::Modify => "Modify",
    }
}

/// `/summaries`: one line per week.
pub fn summaries_list(list: &[StoredSummary]) -> String {
    if list.is_empty() {
        return "No weekly summaries yet. Make one with <code>/generate YEAR WEEK</code>."
            .to_owned();
    }
    let mut out = String::from("<b>Weekly summaries</b>");
    for s in list {
        out.push_str(&format!(
            "\n{}-W{:02} · {} items · P&amp;L {} · {}",
            s.year,
            s.week,
            s.total,
            s.pnl.to_dollars_display(),
            esc(&s.review_status)
        ));
    }
    out.push_str("\n\nOne week: /summary YEAR WEEK");
    out
}

/// A weekly summary: the learning engine's plain text, escaped, and its review state.
pub fn summary(s: &StoredSummary) -> String {
    let review = match s.review_status.as_str() {
        "reviewed" => "✅ Reviewed".to_owned(),
        other => format!("Review: {}", esc(other)),
    };
    format!("{}\n\n{review}", esc(&s.text))
}

pub fn summary_reviewed_toast(week: Week) -> String {
    format!("{week} marked reviewed.")
}

/// `/candidates`: one line per candidate.
pub fn candidates_list(list: &[Candidate]) -> String {
    if list.is_empty() {
        return "No candidates yet; they come from the weekly summaries.".to_owned();
    }
    let mut out = String::from("<b>Candidates</b>");
    for c in list {
        out.push_str(&format!(
            "\n<code>#{}</code> {} · {}",
            c.id,
            esc(&c.title),
            esc(c.state.as_str())
        ));
    }
    out
}

/// The card of one candidate (with its buttons when it awaits the trader).
pub fn candidate_card(c: &Candidate) -> String {
    let mut out = format!(
        "<b>{}</b>\n<code>#{}</code> · {}\n{} (n={})",
        esc(&c.title),
        c.id,
        esc(c.state.as_str()),
        esc(&c.evidence.description),
        c.evidence.n
    );
    if let (Some(from), Some(until)) = (c.validation_from, c.validation_until()) {
        out.push_str(&format!("\nValidation: {from} to {until}"));
    }
    if let Some(r) = &c.report {
        out.push_str(&format!(
            "\n<b>Validation report</b> ({}): {}",
            esc(r.outcome.as_str()),
            esc(&r.sentence)
        ));
    }
    out
}

/// Whether a candidate awaits a decision (implement / defer / reject).
pub fn awaits_decision(c: &Candidate) -> bool {
    matches!(c.state, CandidateState::Proposed | CandidateState::Deferred)
}

/// Whether a candidate awaits a verdict (keep / roll back / modify).
pub fn awaits_verdict(c: &Candidate) -> bool {
    c.state == CandidateState::Validating && c.report.is_some()
}

pub fn confirm_implement(c: &Candidate) -> String {
    format!(
        "{}\n\nImplement this change? Validation then runs for 4 weeks.",
        candidate_card(c)
    )
}

/// After a decision or verdict.
pub fn candidate_updated(c: &Candidate) -> String {
    let mut out = format!("{}\n✅ Now {}.", candidate_card(c), esc(c.state.as_str()));
    if c.state == CandidateState::Implemented {
        out.push_str(" Validation starts next Monday and runs 4 weeks.");
    }
    out
}

pub fn candidate_toast(c: &Candidate) -> String {
    format!("Candidate #{} is now {}.", c.id, c.state.as_str())
}

pub fn ask_candidate_reason(candidate: i64, step: CandidateStep) -> String {
    let what = match step {
        CandidateStep::Reject => "rejecting",
        CandidateStep::Rollback => "rolling back",
        CandidateStep::Modify => "modifying",
    };
    format!(
        "Why are you {what} candidate <code>#{candidate}</code>? Reply with a short text, \
         or /cancel."
    )
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

pub fn divergence_report(period: impl Into<Period>, r: &DivergenceRate) -> String {
    let mut out = format!(
        "<b>Divergence rate, {}</b>\n{} ({} of {} decisions)",
        period.into().label(),
        pct(r.rate),
        r.divergent,
        r.decisions
    );
    for w in &r.weeks {
        out.push_str(&format!(
            "\n{} · {} ({} of {})",
            esc(&w.week),
            pct(w.rate),
            w.divergent,
            w.decisions
        ));
    }
    out
}

pub fn accuracy_report(period: impl Into<Period>, r: &Accuracy) -> String {
    let rate = |x: Option<f64>| x.map_or("—".to_owned(), pct);
    let avg = |x: Option<Money>| x.map_or("—".to_owned(), Money::to_dollars_display);
    format!(
        "<b>Algorithm accuracy, {}</b>\n\
         Followed: {} trades\n  algorithm won {}, avg {}\n\
         Diverged: {} trades\n  algorithm would have won {}, avg {}\n  you won {}, avg {}\n\
         On divergences: you better {}, algorithm better {}, ties {}; {} not settled\n\
         Buy-back decisions (not in the trades above): {} followed, {} diverged\n\
         Independent trades: {}, {}",
        period.into().label(),
        r.followed.n,
        rate(r.followed.win_rate),
        avg(r.followed.average_pnl),
        r.diverged_algorithm.n,
        rate(r.diverged_algorithm.win_rate),
        avg(r.diverged_algorithm.average_pnl),
        rate(r.diverged_trader.win_rate),
        avg(r.diverged_trader.average_pnl),
        r.trader_better,
        r.algorithm_better,
        r.ties,
        r.pending,
        r.decisions.followed,
        r.decisions.diverged,
        r.independent.n,
        r.independent.total_pnl.to_dollars_display()
    )
}

pub fn modifications_report(period: impl Into<Period>, r: &[ModificationCount]) -> String {
    let period = period.into();
    if r.is_empty() {
        return format!("No modifications in {}.", period.within());
    }
    let mut out = format!("<b>Top modifications, {}</b>", period.label());
    for m in r {
        out.push_str(&format!(
            "\n<code>{}</code> · {} ({} of modified)",
            esc(&m.modification),
            m.count,
            pct(m.share)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escaping_covers_html_specials() {
        assert_eq!(
            esc("<b>&\"x\"</b>"),
            "&lt;b&gt;&amp;&quot;x&quot;&lt;/b&gt;"
        );
    }

    #[test]
    fn a_short_message_is_one_part() {
        assert_eq!(split("a\nb", MAX_MESSAGE), vec!["a\nb".to_owned()]);
    }

    #[test]
    fn long_messages_split_at_line_boundaries() {
        let line = "x".repeat(100);
        let text = vec![line.clone(); 100].join("\n");
        let parts = split(&text, MAX_MESSAGE);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(telegram_len(p) <= MAX_MESSAGE);
            assert!(p.split('\n').all(|l| l == line));
        }
        assert_eq!(parts.join("\n"), text);
    }

    #[test]
    fn an_overlong_line_is_cut_outside_entities() {
        let line = "a&amp;".repeat(1000);
        let parts = split(&line, 100);
        for p in &parts {
            assert!(telegram_len(p) <= 100);
            assert!(!p.ends_with('&') && !p.ends_with("&am"), "{p}");
            let opens = p.matches('&').count();
            assert_eq!(opens, p.matches(';').count(), "{p}");
        }
        assert_eq!(parts.concat(), line);
    }

    proptest! {
        #[test]
        fn every_part_fits_and_nothing_is_lost(
            lines in proptest::collection::vec("[a-z😀<>& ]{0,300}", 0..60),
            limit in 20usize..500,
        ) {
            let text = lines.iter().map(|l| esc(l)).collect::<Vec<_>>().join("\n");
            let parts = split(&text, limit);
            for p in &parts {
                prop_assert!(telegram_len(p) <= limit);
            }
            let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            prop_assert_eq!(squeeze(&parts.concat()), squeeze(&text));
        }
    }

    /// The text Telegram keeps of `html`, worked out independently of the splitter: tags
    /// dropped, the four named entities and numeric ones decoded.
    fn parsed(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            if c == '<' {
                let end = rest.find('>').expect("a closed tag");
                rest = &rest[end + 1..];
            } else if c == '&' {
                let end = rest.find(';').expect("a closed entity");
                let name = &rest[1..end];
                let decoded = match name {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "quot" => '"',
                    n => n
                        .strip_prefix('#')
                        .and_then(|d| d.parse().ok())
                        .and_then(char::from_u32)
                        .expect("a known entity"),
                };
                out.push(decoded);
                rest = &rest[end + 1..];
            } else {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }

    /// Whether `html` is what Telegram accepts: tags balanced and properly nested, every
    /// `&` an entity, no `<` or `>` outside a tag.
    fn valid_html(html: &str) -> Result<(), String> {
        let mut open: Vec<String> = Vec::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            match c {
                '<' => {
                    let end = rest.find('>').ok_or("an unclosed tag")?;
                    let tag = &rest[1..end];
                    if let Some(name) = tag.strip_prefix('/') {
                        match open.pop() {
                            Some(o) if o == name => {}
                            o => return Err(format!("</{name}> closes {o:?}")),
                        }
                    } else {
                        open.push(tag.split(' ').next().unwrap_or_default().to_owned());
                    }
                    rest = &rest[end + 1..];
                }
                '>' => return Err("a bare >".to_owned()),
                '&' => {
                    let end = rest.find(';').ok_or("an unfinished entity")?;
                    let name = &rest[1..end];
                    let numeric = name
                        .strip_prefix('#')
                        .is_some_and(|d| d.parse::<u32>().is_ok());
                    if !(numeric || ["lt", "gt", "amp", "quot"].contains(&name)) {
                        return Err(format!("&{name}; is not an entity"));
                    }
                    rest = &rest[end + 1..];
                }
                c => rest = &rest[c.len_utf8()..],
            }
        }
        if open.is_empty() {
            Ok(())
        } else {
            Err(format!("left open: {open:?}"))
        }
    }

    fn utf16(s: &str) -> usize {
        s.encode_utf16().count()
    }

    /// Telegram HTML as this module writes it: escaped text (with emoji, spaces and line
    /// breaks) and short elements, some nested, some holding line breaks.
    fn html_strategy() -> impl Strategy<Value = String> {
        let text = "[a-z😀<>&\" \n]{0,40}".prop_map(|t| esc(&t));
        let short = "[a-z😀<>& ]{1,12}".prop_map(|t| esc(&t));
        let element = prop_oneof![
            short.clone().prop_map(|t| format!("<b>{t}</b>")),
            short.clone().prop_map(|t| format!("<code>{t}</code>")),
            short
                .clone()
                .prop_map(|t| format!("<a href=\"https://example.com/?a=1&amp;b=2\">{t}</a>")),
            short.clone().prop_map(|t| format!("<b><i>{t}</i> x</b>")),
            short.prop_map(|t| format!("<pre>{t}\n{t}</pre>")),
            Just("&#128512;".to_owned()),
        ];
        proptest::collection::vec(prop_oneof![3 => text, 1 => element], 0..80)
            .prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #[test]
        fn parts_rejoin_to_the_original_are_valid_html_and_fit(
            html in html_strategy(),
            limit in 30usize..400,
        ) {
            let pieces = pieces(&html, limit);
            // The parts and the line breaks or spaces dropped between them tile the text.
            let mut at = 0;
            for p in &pieces {
                prop_assert!(html[at..p.range.start].chars().all(char::is_whitespace));
                at = p.range.end;
                // No cut falls inside an element that fits in a message. The longest
                // element made here is a `<pre>` of two 12-emoji lines: 2 × 24 + 1 = 49
                // UTF-16 units; below that a cut may have to fall inside one.
                if limit >= 49 {
                    prop_assert!(p.reopen.is_empty() && p.close.is_empty(), "{:?}", p);
                }
                if p.blank {
                    prop_assert!(parsed(&html[p.range.clone()]).trim().is_empty());
                }
            }
            prop_assert!(html[at..].chars().all(char::is_whitespace));
            let parts = split(&html, limit);
            for part in &parts {
                prop_assert!(valid_html(part).is_ok(), "{:?}: {}", valid_html(part), part);
                prop_assert!(utf16(&parsed(part)) <= limit, "{} > {limit}: {part}", utf16(&parsed(part)));
                prop_assert_eq!(telegram_len(part), utf16(&parsed(part)));
                prop_assert!(!parsed(part).trim().is_empty());
            }
            let text: String = parts.iter().map(|p| parsed(p)).collect::<String>()
                .chars().filter(|c| !c.is_whitespace()).collect();
            let whole: String = parsed(&html).chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(text, whole);
            if limit >= 49 {
                // Nothing closed and reopened: the parts are the HTML itself, but for the
                // blank parts, which are not sent (`<pre> \n </pre>` alone).
                let kept: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
                let sent: String = pieces
                    .iter()
                    .filter(|p| !p.blank)
                    .flat_map(|p| html[p.range.clone()].chars())
                    .filter(|c| !c.is_whitespace())
                    .collect();
                prop_assert_eq!(kept, sent);
            }
        }

        #[test]
        fn an_element_longer_than_a_message_is_closed_and_reopened(
            inner in "[a-z😀<>& \n]{50,400}",
            limit in 20usize..60,
        ) {
            let html = format!("x <b>bold <code>{}</code></b> y", esc(&inner));
            let parts = split(&html, limit);
            for part in &parts {
                prop_assert!(valid_html(part).is_ok(), "{:?}: {}", valid_html(part), part);
                prop_assert!(utf16(&parsed(part)) <= limit);
            }
            let text: String = parts.iter().map(|p| parsed(p)).collect::<String>()
                .chars().filter(|c| !c.is_whitespace()).collect();
            let whole: String = parsed(&html).chars().filter(|c| !c.is_whitespace()).collect();
            prop_assert_eq!(text, whole);
        }
    }

    #[test]
    fn length_is_counted_after_parsing_in_utf16_units() {
        assert_eq!(telegram_len("a &amp; b"), 5);
        assert_eq!(
            telegram_len("<b>bold</b> <a href=\"https://x.y/?q=1&amp;r=2\">link</a>"),
            9
        );
        assert_eq!(telegram_len("😀"), 2);
        assert_eq!(telegram_len("&#128512;"), 2);
        assert_eq!(telegram_len("&lt;&gt;&quot;"), 3);
        // Escaped text is as long as the text it escapes.
        let raw = "P&L <10> \"x\" & 😀".repeat(50);
        assert_eq!(telegram_len(&esc(&raw)), utf16(&raw));
    }

    #[test]
    fn a_short_reply_full_of_entities_is_one_message() {
        // 1,500 ampersands: 7,500 bytes of HTML, 1,500 characters on the phone.
        let html = esc(&"&".repeat(1500));
        assert_eq!(split(&html, MAX_MESSAGE), vec![html]);
    }

    #[test]
    fn no_cut_falls_inside_an_element() {
        let code = format!("<code>{}</code>", "c".repeat(30));
        let html = format!("{} {code} tail", "a".repeat(20));
        let parts = split(&html, 40);
        // 20 + 1 + 30 characters do not fit in 40: the cut falls before the element.
        assert_eq!(parts, vec!["a".repeat(20), format!("{code} tail")]);
    }

    #[test]
    fn no_cut_falls_inside_a_surrogate_pair() {
        let html = "😀".repeat(30);
        for part in split(&html, 7) {
            assert!(utf16(&part) <= 7);
            assert!(part.chars().all(|c| c == '😀'));
        }
    }

    #[test]
    fn echoed_input_is_bounded() {
        assert_eq!(clip("short", MAX_ECHO), "short");
        let long = "x".repeat(10_000);
        let clipped = clip(&long, MAX_ECHO);
        assert_eq!(clipped.chars().count(), MAX_ECHO + 1);
        assert!(clipped.ends_with('…'));
        let e = crate::bot::commands::parse_match_id(&long).unwrap_err();
        assert!(
            telegram_len(&bad_argument(&e)) < 200,
            "{}",
            bad_argument(&e)
        );
        let e = crate::bot::commands::parse_reason(&format!("1 {long}")).unwrap_err();
        assert!(
            telegram_len(&bad_argument(&e)) < 400,
            "{}",
            bad_argument(&e)
        );
        assert!(telegram_len(&refused(&long)) < 400);
    }

    #[test]
    fn help_lists_every_command() {
        let help = help();
        for cmd in Command::bot_commands() {
            assert!(help.contains(&cmd.command), "{}", cmd.command);
        }
        assert!(telegram_len(&help) < MAX_MESSAGE);
    }
}
