//! Every sentence the bot says, in Telegram HTML, with every dynamic value escaped; and
//! the one splitter that keeps messages under Telegram's 4096-character limit.
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
use crate::domain::{MatchType, Money, ReasonCode, Side};
use crate::learning::analytics::{Accuracy, DivergenceRate, ModificationCount};
use crate::learning::candidates::{Candidate, Decision, Final, State as CandidateState};
use crate::learning::summary::Week;
use crate::store::MatchRecord;
use crate::store::StoredSummary;

/// Telegram's limit on a message, in characters.
pub const MAX_MESSAGE: usize = 4096;
/// Telegram's limit on a photo caption, in characters.
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

/// Length as Telegram counts it (UTF-16 code units), an upper bound of the characters
/// left after the HTML is parsed.
pub fn telegram_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// Splits `html` into messages of at most `limit` characters, at line boundaries. A
/// single line longer than `limit` is cut, never inside an HTML tag or entity (the lines
/// this module writes keep their tags within a line, so every piece stays valid HTML).
pub fn split(html: &str, limit: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in html.split('\n') {
        let line_len = telegram_len(line);
        let needed = if current.is_empty() {
            line_len
        } else {
            current_len + 1 + line_len
        };
        if needed <= limit {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            current_len = needed;
            continue;
        }
        if !current.trim().is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.clear();
        let mut rest = line;
        while telegram_len(rest) > limit {
            let cut = cut_point(rest, limit);
            parts.push(rest[..cut].to_owned());
            rest = &rest[cut..];
        }
        current.push_str(rest);
        current_len = telegram_len(rest);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// The byte index at which to cut `line` so the head has at most `limit` UTF-16 units
/// and does not end inside a tag or an entity.
fn cut_point(line: &str, limit: usize) -> usize {
    let mut units = 0;
    let mut end = 0;
    for (i, c) in line.char_indices() {
        if units + c.len_utf16() > limit {
            break;
        }
        units += c.len_utf16();
        end = i + c.len_utf8();
    }
    let head = &line[..end];
    // Back up to before an unfinished `<...` or `&...`.
    let open_tag = head.rfind('<').filter(|&i| !head[i..].contains('>'));
    let open_entity = head.rfind('&').filter(|&i| !head[i..].contains(';'));
    match open_tag.into_iter().chain(open_entity).min() {
        Some(i) if i > 0 => i,
        _ => end.max(line.chars().next().map_or(0, char::len_utf8)),
    }
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

pub fn bad_argument(e: &ArgError) -> String {
    format!(
        "⚠️ {}. Example: <code>{}</code>",
        esc(&e.problem),
        esc(e.example)
    )
}

/// A store refusal or missing row, said as it is (the store words them for people).
pub fn refused(reason: &str) -> String {
    format!("⚠️ {}.", esc(reason))
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

pub fn text_expected() -> String {
    "Please reply with the reason as text, or /cancel.".to_owned()
}

// ---- jobs: reconciliation and outcomes ----

/// The first message of a night: counts per match type.
pub fn reconciliation_summary(day: NaiveDate, matches: &[MatchRecord]) -> String {
    let mut counts: BTreeMap<MatchType, usize> = BTreeMap::new();
    for m in matches {
        *counts.entry(m.match_type).or_default() += 1;
    }
    if matches.is_empty() {
        return format!("<b>Reconciled {day}</b>\nNothing to reconcile that day.");
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
    out
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

    #[test]
    fn help_lists_every_command() {
        let help = help();
        for cmd in Command::bot_commands() {
            assert!(help.contains(&cmd.command), "{}", cmd.command);
        }
        assert!(telegram_len(&help) < MAX_MESSAGE);
    }
}
