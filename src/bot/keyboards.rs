//! Inline keyboards and their callback data: typed values that encode to at most 64
//! bytes and decode back, so a handler never looks at raw strings.
//!
//! Encodings (fields separated by `:`; `-` for an absent value):
//! `r:MATCH:CODE` a reason · `m:PAGE:FROM:TO:TYPE:SYMBOL` a page of matches ·
//! `c:CANDIDATE:DECISION` a candidate decision · `y:CANDIDATE` confirm implement ·
//! `v:CANDIDATE:VERDICT` a validation verdict · `s:SUMMARY` mark a summary reviewed ·
//! `rd:FROM:TO` reconcile the days an imported file touched (dates `YYYYMMDD`) · `x` dismiss.
//! Every id is a row id; the handler checks it against the tapping account, so forged
//! data can name nothing of another account's.

use chrono::NaiveDate;

use super::messages;
use crate::domain::Button;
use crate::domain::{MatchType, ReasonCode, Symbol};
use crate::learning::candidates::{Decision, Final};

/// Telegram's limit on callback data.
pub const MAX_CALLBACK_BYTES: usize = 64;

/// How many matches a page of `/matches` shows.
pub const PAGE_SIZE: u32 = 10;

/// Filters and page of a `/matches` listing (carried by its paging buttons).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchesQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub match_type: Option<MatchType>,
    pub symbol: Option<Symbol>,
    /// Zero-based.
    pub page: u32,
}

/// What a button means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Reason {
        match_id: i64,
        code: ReasonCode,
    },
    Matches(MatchesQuery),
    /// A page of `/summaries` (of one year, if given).
    Summaries {
        page: u32,
        year: Option<i32>,
    },
    /// A page of `/candidates`.
    Candidates {
        page: u32,
    },
    Decide {
        candidate: i64,
        decision: Decision,
    },
    ConfirmImplement {
        candidate: i64,
    },
    Verdict {
        candidate: i64,
        verdict: Final,
    },
    Reviewed {
        summary: i64,
    },
    /// "Reconcile now" under an imported file's card: the days from its first event to
    /// its last, in the tapping chat.
    ReconcileDays {
        from: NaiveDate,
        to: NaiveDate,
    },
    Dismiss,
}

impl Callback {
    /// The callback data; at most [`MAX_CALLBACK_BYTES`] for every value (ids are i64,
    /// symbols at most 10 bytes, dates 8 digits).
    pub fn encode(&self) -> String {
        match self {
            Callback::Reason { match_id, code } => format!("r:{match_id}:{}", code.as_str()),
            Callback::Matches(q) => format!(
                "m:{}:{}:{}:{}:{}",
                q.page,
                q.from
                    .map_or("-".to_owned(), |d| d.format("%Y%m%d").to_string()),
                q.to.map_or("-".to_owned(), |d| d.format("%Y%m%d").to_string()),
                q.match_type.map_or("-", MatchType::as_str),
                q.symbol.as_ref().map_or("-", Symbol::as_str),
            ),
            Callback::Summaries { page, year } => match year {
                Some(y) => format!("ls:{page}:{y}"),
                None => format!("ls:{page}:-"),
            },
            Callback::Candidates { page } => format!("lc:{page}"),
            Callback::Decide {
                candidate,
                decision,
            } => format!("c:{candidate}:{}", decision.as_str()),
            Callback::ConfirmImplement { candidate } => format!("y:{candidate}"),
            Callback::Verdict { candidate, verdict } => {
                format!("v:{candidate}:{}", verdict.as_str())
            }
            Callback::Reviewed { summary } => format!("s:{summary}"),
            Callback::ReconcileDays { from, to } => {
                format!("rd:{}:{}", from.format("%Y%m%d"), to.format("%Y%m%d"))
            }
            Callback::Dismiss => "x".to_owned(),
        }
    }

    /// Reads callback data; `None` for anything this version did not write.
    pub fn decode(data: &str) -> Option<Self> {
        if data.len() > MAX_CALLBACK_BYTES {
            return None;
        }
        let parts: Vec<&str> = data.split(':').collect();
        let id = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        Some(match parts.as_slice() {
            ["r", m, code] => Callback::Reason {
                match_id: id(m)?,
                code: code.parse().ok()?,
            },
            ["m", page, from, to, kind, symbol] => Callback::Matches(MatchesQuery {
                page: page.parse().ok()?,
                from: optional(from, day)?,
                to: optional(to, day)?,
                match_type: optional(kind, |s| s.parse().ok())?,
                symbol: optional(symbol, |s| Symbol::parse(s).ok())?,
            }),
            ["ls", page, year] => Callback::Summaries {
                page: page.parse().ok()?,
                year: optional(year, |s| s.parse().ok())?,
            },
            ["lc", page] => Callback::Candidates {
                page: page.parse().ok()?,
            },
            ["c", c, d] => Callback::Decide {
                candidate: id(c)?,
                decision: exact(d)?,
            },
            ["y", c] => Callback::ConfirmImplement { candidate: id(c)? },
            ["v", c, v] => Callback::Verdict {
                candidate: id(c)?,
                verdict: exact(v)?,
            },
            ["s", s] => Callback::Reviewed { summary: id(s)? },
            ["rd", from, to] => {
                let (from, to) = (day(from)?, day(to)?);
                if from > to {
                    return None;
                }
                Callback::ReconcileDays { from, to }
            }
            ["x"] => Callback::Dismiss,
            _ => return None,
        })
    }

    /// A button with this meaning.
    pub fn button(&self, text: impl Into<String>) -> Button {
        Button {
            text: text.into(),
            data: self.encode(),
        }
    }
}

/// A date as `encode` writes it: eight digits. (chrono's `%Y%m%d` alone also reads
/// `-20\r1\r2`, the year −20, which encodes to other data: found by fuzzing.)
fn day(s: &str) -> Option<NaiveDate> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// A name exactly as `as_str` writes it (the learning names also accept variants when
/// typed; data we wrote never needs them).
fn exact<T>(s: &str) -> Option<T>
where
    T: std::str::FromStr + Copy + Named,
{
    s.parse::<T>().ok().filter(|v| v.name() == s)
}

/// The spelling of a learning name.
trait Named {
    fn name(self) -> &'static str;
}

impl Named for Decision {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Final {
    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// `-` is absent; anything else must parse.
fn optional<T>(s: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    if s == "-" {
        Some(None)
    } else {
        parse(s).map(Some)
    }
}

/// The nine reason codes, three to a row (narrow enough for a phone).
pub fn reasons(match_id: i64) -> Vec<Vec<Button>> {
    ReasonCode::ALL
        .chunks(3)
        .map(|row| {
            row.iter()
                .map(|code| {
                    Callback::Reason {
                        match_id,
                        code: *code,
                    }
                    .button(messages::reason_label(*code))
                })
                .collect()
        })
        .collect()
}

/// Previous / next buttons of a listing (none when there is one page).
pub fn pages(query: &MatchesQuery, has_more: bool) -> Vec<Vec<Button>> {
    let mut row = Vec::new();
    if query.page > 0 {
        let prev = MatchesQuery {
            page: query.page - 1,
            ..query.clone()
        };
        row.push(Callback::Matches(prev).button(messages::PREVIOUS));
    }
    if has_more {
        let next = MatchesQuery {
            page: query.page + 1,
            ..query.clone()
        };
        row.push(Callback::Matches(next).button(messages::NEXT));
    }
    if row.is_empty() {
        Vec::new()
    } else {
        vec![row]
    }
}

/// Previous / next buttons of a page of another list: `at(page)` is the callback of
/// that page.
pub fn list_pages(page: u32, has_more: bool, at: impl Fn(u32) -> Callback) -> Vec<Vec<Button>> {
    let mut row = Vec::new();
    if page > 0 {
        row.push(at(page - 1).button(messages::PREVIOUS));
    }
    if has_more {
        row.push(at(page + 1).button(messages::NEXT));
    }
    if row.is_empty() {
        Vec::new()
    } else {
        vec![row]
    }
}

/// Implement / defer / reject under a proposed candidate.
pub fn decisions(candidate: i64) -> Vec<Vec<Button>> {
    vec![
        Decision::ALL
            .iter()
            .copied()
            .map(|decision| {
                Callback::Decide {
                    candidate,
                    decision,
                }
                .button(messages::decision_label(decision))
            })
            .collect(),
    ]
}

/// "Yes, implement" / "No" after tapping implement.
pub fn confirm_implement(candidate: i64) -> Vec<Vec<Button>> {
    vec![vec![
        Callback::ConfirmImplement { candidate }.button(messages::CONFIRM_IMPLEMENT),
        Callback::Dismiss.button(messages::NOT_NOW),
    ]]
}

/// Keep / roll back / modify under a validation report.
pub fn verdicts(candidate: i64) -> Vec<Vec<Button>> {
    vec![
        Final::ALL
            .iter()
            .copied()
            .map(|verdict| {
                Callback::Verdict { candidate, verdict }.button(messages::verdict_label(verdict))
            })
            .collect(),
    ]
}

/// "Mark reviewed" under a weekly summary.
pub fn reviewed(summary: i64) -> Vec<Vec<Button>> {
    vec![vec![
        Callback::Reviewed { summary }.button(messages::MARK_REVIEWED),
    ]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_kind() -> Vec<Callback> {
        let big = i64::MAX;
        let mut all = vec![
            Callback::Matches(MatchesQuery {
                from: NaiveDate::from_ymd_opt(2025, 1, 2),
                to: NaiveDate::from_ymd_opt(2025, 12, 31),
                match_type: Some(MatchType::Independent),
                symbol: Some(Symbol::parse("ABCDEFGHIJ").unwrap()),
                page: u32::MAX,
            }),
            Callback::Matches(MatchesQuery::default()),
            Callback::ConfirmImplement { candidate: big },
            Callback::Summaries {
                page: u32::MAX,
                year: Some(2025),
            },
            Callback::Summaries {
                page: 0,
                year: None,
            },
            Callback::Candidates { page: u32::MAX },
            Callback::Reviewed { summary: big },
            Callback::ReconcileDays {
                from: NaiveDate::from_ymd_opt(1000, 1, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
            },
            Callback::ReconcileDays {
                from: NaiveDate::from_ymd_opt(2025, 1, 6).unwrap(),
                to: NaiveDate::from_ymd_opt(2025, 1, 24).unwrap(),
            },
            Callback::Dismiss,
        ];
        for code in ReasonCode::ALL {
            all.push(Callback::Reason {
                match_id: big,
                code: *code,
            });
        }
        for decision in Decision::ALL {
            all.push(Callback::Decide {
                candidate: big,
                decision: *decision,
            });
        }
        for verdict in Final::ALL {
            all.push(Callback::Verdict {
                candidate: big,
                verdict: *verdict,
            });
        }
        all
    }

    #[test]
    fn every_callback_fits_in_64_bytes_and_round_trips() {
        for cb in every_kind() {
            let data = cb.encode();
            assert!(
                data.len() <= MAX_CALLBACK_BYTES,
                "{data} is {} bytes",
                data.len()
            );
            assert_eq!(Callback::decode(&data), Some(cb), "{data}");
        }
    }

    #[test]
    fn forged_or_stale_data_decodes_to_nothing() {
        // Found by fuzzing (`fuzz/fuzz_targets/callback.rs`): dates that are not the
        // eight digits `encode` writes.
        for data in [
            "rd:-20\r1\r2:0\r1\r2",
            "rd:+2025011:20250117",
            "m:0:-20\r1\r2:-:-:-",
        ] {
            assert_eq!(Callback::decode(data), None, "{data:?}");
        }
        for bad in [
            "",
            "r",
            "r:12",
            "r:abc:timing",
            "r:-5:timing",
            "r:0:timing",
            "r:12:bored",
            "r:12:timing:extra",
            "m:1:2025-01-01:-:-:-",
            "m:-1:-:-:-:-",
            "m:0:-:-:flirt:-",
            "m:0:-:-:-:A B",
            "c:5:maybe",
            "v:5:burn",
            "s:x",
            "s:2025:5",
            "c:5:Implement",
            "v:5:roll_back",
            "zz:1",
            &"r:1:timing".repeat(10),
        ] {
            assert_eq!(Callback::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_reason_keyboard_has_all_nine_codes_three_to_a_row() {
        let rows = reasons(42);
        assert_eq!(rows.len(), 3);
        assert!(rows.iter().all(|r| r.len() == 3));
        let codes: Vec<ReasonCode> = rows
            .iter()
            .flatten()
            .map(|b| match Callback::decode(&b.data) {
                Some(Callback::Reason { match_id: 42, code }) => code,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(codes, ReasonCode::ALL);
    }

    #[test]
    fn paging_buttons_appear_only_where_there_is_a_page_to_go_to() {
        let first = MatchesQuery::default();
        assert!(pages(&first, false).is_empty());
        assert_eq!(pages(&first, true)[0].len(), 1);
        let second = MatchesQuery {
            page: 1,
            ..first.clone()
        };
        assert_eq!(pages(&second, true)[0].len(), 2);
        assert_eq!(
            Callback::decode(&pages(&second, false)[0][0].data),
            Some(Callback::Matches(first))
        );
    }
}
