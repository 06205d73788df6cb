//! The weekly learning summary: what a week's items add up to, and its message in the
//! seed's layout ("Weekly Learning Notification"), line for line.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Item;
pub use crate::domain::week::{NoSuchWeek, Week};
use crate::domain::{MatchType, Money};

/// Items of a week, counted by match type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub consent: usize,
    pub modify: usize,
    pub reject: usize,
    pub independent: usize,
    pub no_action: usize,
}

impl Counts {
    /// Counts the items whose day lies in `week`.
    pub fn of_week(items: &[Item], week: Week) -> Self {
        let mut c = Self::default();
        for i in items.iter().filter(|i| Week::of(i.day) == week) {
            c.add(i.match_type);
        }
        c
    }

    pub fn add(&mut self, t: MatchType) {
        *self.slot(t) += 1;
    }

    fn slot(&mut self, t: MatchType) -> &mut usize {
        match t {
            MatchType::Consent => &mut self.consent,
            MatchType::Modify => &mut self.modify,
            MatchType::Reject => &mut self.reject,
            MatchType::Independent => &mut self.independent,
            MatchType::NoAction => &mut self.no_action,
        }
    }

    pub fn get(&self, t: MatchType) -> usize {
        match t {
            MatchType::Consent => self.consent,
            MatchType::Modify => self.modify,
            MatchType::Reject => self.reject,
            MatchType::Independent => self.independent,
            MatchType::NoAction => self.no_action,
        }
    }

    pub fn total(&self) -> usize {
        MatchType::ALL.iter().map(|t| self.get(*t)).sum()
    }

    /// Counts keyed by the contract's match-type names, for JSON.
    pub fn by_name(&self) -> BTreeMap<&'static str, usize> {
        MatchType::ALL
            .iter()
            .map(|t| (t.as_str(), self.get(*t)))
            .collect()
    }
}

/// What the weekly message shows, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest<'a> {
    pub week: Week,
    pub counts: &'a Counts,
    /// Realized P&L of the positions closed in the week.
    pub pnl: Money,
    /// One sentence per pattern ("User adds 7 days on average to DTE").
    pub patterns: &'a [String],
    /// One title per open candidate ("Increase default DTE by 7 days").
    pub candidates: &'a [String],
    /// The candidates' label ("V4").
    pub label: &'a str,
}

/// A share as the seed prints it: whole percent, rounded half up (15/23 → 65).
pub fn percent(part: usize, total: usize) -> u64 {
    if total == 0 {
        return 0;
    }
    ((part as u64 * 200 + total as u64) / (2 * total as u64)).min(100)
}

/// The weekly message, in the seed's layout. Plain text: the bot escapes it for HTML.
pub fn render(d: &Digest<'_>) -> String {
    let total = d.counts.total();
    let mut rows: Vec<(&str, &str, usize)> = vec![
        ("✅", "Consent", d.counts.consent),
        ("✏️", "Modified", d.counts.modify),
        ("❌", "Rejected", d.counts.reject),
    ];
    // The seed's example has no `no_action` line; it appears only when there are some.
    if d.counts.no_action > 0 {
        rows.push(("⏸️", "No action", d.counts.no_action));
    }
    rows.push(("🆕", "Independent", d.counts.independent));

    let mut out = format!(
        "📊 WEEKLY LEARNING SUMMARY ({})\n\nRECOMMENDATIONS: {total}\n",
        d.week
    );
    let last = rows.len() - 1;
    for (i, (emoji, name, n)) in rows.iter().enumerate() {
        let branch = if i == last { "└─" } else { "├─" };
        out.push_str(&format!(
            "{branch} {emoji} {name}: {n} ({}%)\n",
            percent(*n, total)
        ));
    }
    out.push_str(&format!("\nP&L: {}\n", d.pnl.to_dollars_display()));
    out.push_str(&format!("\nPATTERNS DETECTED: {}\n", d.patterns.len()));
    for p in d.patterns {
        out.push_str(&format!("• {p}\n"));
    }
    out.push_str(&format!(
        "\n{} CANDIDATES: {}\n",
        d.label.to_uppercase(),
        d.candidates.len()
    ));
    for c in d.candidates {
        out.push_str(&format!("• {c}\n"));
    }
    out.push_str("\nReview in Learning tab for full details.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED_EXAMPLE: &str = "📊 WEEKLY LEARNING SUMMARY (2025-W01)

RECOMMENDATIONS: 23
├─ ✅ Consent: 15 (65%)
├─ ✏️ Modified: 5 (22%)
├─ ❌ Rejected: 2 (9%)
└─ 🆕 Independent: 1 (4%)

P&L: $1,180.00

PATTERNS DETECTED: 2
• User adds 7 days on average to DTE
• User rejects low-premium recommendations

V4 CANDIDATES: 2
• Increase default DTE by 7 days
• Add minimum premium filter ($0.25)

Review in Learning tab for full details.";

    fn seed_counts() -> Counts {
        Counts {
            consent: 15,
            modify: 5,
            reject: 2,
            independent: 1,
            no_action: 0,
        }
    }

    #[test]
    fn the_seed_example_renders_exactly_as_the_seed_prints_it() {
        let counts = seed_counts();
        let patterns = [
            "User adds 7 days on average to DTE".to_owned(),
            "User rejects low-premium recommendations".to_owned(),
        ];
        let candidates = [
            "Increase default DTE by 7 days".to_owned(),
            "Add minimum premium filter ($0.25)".to_owned(),
        ];
        let text = render(&Digest {
            week: Week::new(2025, 1).unwrap(),
            counts: &counts,
            pnl: Money::from_dollars(1180),
            patterns: &patterns,
            candidates: &candidates,
            label: "V4",
        });
        assert_eq!(text, SEED_EXAMPLE);
    }

    #[test]
    fn a_no_action_line_appears_only_when_there_are_some() {
        let mut counts = seed_counts();
        let digest = |c: &Counts| {
            render(&Digest {
                week: Week::new(2025, 2).unwrap(),
                counts: c,
                pnl: Money::from_cents(-31_050),
                patterns: &[],
                candidates: &[],
                label: "V4",
            })
        };
        assert!(!digest(&counts).contains("No action"));
        counts.no_action = 2;
        let text = digest(&counts);
        assert!(text.contains("RECOMMENDATIONS: 25\n"), "{text}");
        assert!(text.contains("├─ ⏸️ No action: 2 (8%)\n└─ 🆕 Independent: 1 (4%)"));
        assert!(text.contains("P&L: -$310.50"));
        assert!(text.contains("PATTERNS DETECTED: 0\n\nV4 CANDIDATES: 0\n"));
    }

    #[test]
    fn percentages_round_half_up_like_the_seed() {
        assert_eq!(percent(15, 23), 65);
        assert_eq!(percent(5, 23), 22);
        assert_eq!(percent(2, 23), 9);
        assert_eq!(percent(1, 23), 4);
        assert_eq!(percent(1, 8), 13);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(3, 3), 100);
    }
}
