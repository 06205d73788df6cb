//! What the terminal commands (the CLI and the demo) print: one-line and detailed forms of
//! matches and counts, and the usage error (exit status 2). Shared by both entry points
//! so neither reaches into the other.

use crate::domain::MatchType;
use crate::store::MatchRecord;

/// A command line that cannot be carried out as given (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Match counts in the order of the match types, zeros left out: `consent 5, modify 2`.
pub fn counts_line(counts: &std::collections::BTreeMap<String, usize>) -> String {
    MatchType::ALL
        .iter()
        .filter_map(|t| {
            counts
                .get(t.as_str())
                .filter(|n| **n > 0)
                .map(|n| format!("{t} {n}"))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One line per match, for lists.
pub fn match_line(m: &MatchRecord) -> String {
    let mut s = format!(
        "#{:<6} {} {:<12} {:<6} acct {}",
        m.id,
        m.day,
        m.match_type.as_str(),
        m.underlying,
        m.account
    );
    if let Some(r) = &m.recommendation {
        s.push_str(&format!("  rec {}", printable(r)));
    }
    if !m.executions.is_empty() {
        // A no_action row links the expiry or assignment that resolved the position.
        let what = if m.match_type == MatchType::NoAction {
            "event"
        } else {
            "fills"
        };
        s.push_str(&format!("  {what} {}", printable(&m.executions.join(","))));
    }
    if !m.modifications.is_empty() {
        s.push_str(&format!("  [{}]", m.modifications.join(", ")));
    }
    if let Some(code) = &m.reason_code {
        s.push_str(&format!("  reason: {code}"));
        if let Some(t) = &m.reason_text {
            s.push_str(&format!(" ({})", printable(t)));
        }
    }
    s
}

/// A match with its differences and outcomes, for `match ID`.
pub fn match_detail(m: &MatchRecord) -> String {
    let mut s = format!("{}\n", match_line(m));
    let d = &m.differences;
    if d.strike.is_some() || d.dte.is_some() {
        s.push_str(&format!(
            "  differences: strike {}, expiration {} day(s), contracts {}, premium {}\n",
            d.strike
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            d.dte
                .map(|v| format!("{v:+}"))
                .unwrap_or_else(|| "-".into()),
            d.contracts
                .map(|v| format!("{v:+}"))
                .unwrap_or_else(|| "-".into()),
            d.premium
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
        ));
    }
    match m.outcomes.as_deref() {
        None | Some([]) => s.push_str("  outcomes: not tracked yet (rlhf-bot track-outcomes)\n"),
        Some(outcomes) => {
            for o in outcomes {
                s.push_str(&format!(
                    "  {:<9} {:<14} premium {}  close {}  fees {}  P&L {}\n",
                    o.side.as_str(),
                    o.status.as_str(),
                    o.premium,
                    o.close_cost
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into()),
                    o.fees,
                    o.realized_pnl
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into()),
                ));
            }
        }
    }
    s
}

/// `text` safe to print on a terminal: control characters (an escape sequence, a
/// carriage return that would overwrite the line) are shown escaped (`\u{1b}`), never
/// sent raw. Values that came from files or chats pass through here before printing.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(printable("plain text"), "plain text");
        assert_eq!(printable("a\u{1b}[2Jb\r"), "a\\u{1b}[2Jb\\u{d}");
    }
}
