//! Days, trading sessions and response windows. Timestamps are UTC everywhere; "the
//! day" of an event is its date in the schedule zone, computed here and nowhere else.
//!
//! A [`TradingCalendar`] says on which days the exchange holds a session: Monday to
//! Friday, less its full-day closures (early closes are sessions). The domain takes it
//! as a value, so tests can hand in their own; the product uses [`TradingCalendar::nyse`],
//! which US equity and index options follow.
//!
//! # Where the NYSE closures come from
//!
//! From the [`exchange_hours`] crate: its NYSE table is sourced row by row from the
//! exchange's own holiday pages and closure notices, covers 2010-01-01 to 2028-12-31, and
//! knows the unscheduled closures of that span but one (see [`UNSCHEDULED_CLOSURES`],
//! the single place where closures the crate lacks are added). Outside the covered years
//! every weekday counts as a session: the crate refuses to guess there, and a newer
//! release of it extends the span. Candidates compared before choosing it (checked
//! 2026-11, all build on Rust 1.95):
//!
//! | crate | years | regular holidays | unscheduled closures | verdict |
//! |---|---|---|---|---|
//! | `exchange-hours` 1.3 | 2010–2028 | sourced table | Sandy 2012-10-29/30, Carter 2025-01-09; not Bush 2018-12-05 | chosen; MSRV 1.95, edition 2024, maintained, deps we already have |
//! | `nyse-holiday-cal` 0.2.5 | 2020–2028 | hand table | none (2025-01-09 is a business day in it) | too short, misses Carter |
//! | `trading-calendar` 0.2.3 | 2020–2030 | rules | none | wrong on Saturday holidays (closes 2021-12-27, 2022-01-03, Juneteenth 2021) |
//! | `bdays` 0.1.4 | any | US federal (Columbus, Veterans Day; no Good Friday) | none | not the exchange's calendar |
//! | `usec` 0.3.6 | 2000–2050 | rules | 2001-09-11 only | reads an env var and panics on bad JSON inside the library |

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// The date of `at` in `tz`.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

pub fn is_weekday(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Full-day NYSE closures on weekdays that the `exchange-hours` table lacks, with why.
/// Checked against the exchange's notices for every unscheduled closure since 2010:
/// Hurricane Sandy (2012-10-29 and 30) and the national day of mourning for President
/// Carter (2025-01-09) are in the crate; the one for President George H. W. Bush is not.
pub const UNSCHEDULED_CLOSURES: &[(NaiveDate, &str)] = &[(
    ymd(2018, 12, 5),
    "national day of mourning for President George H. W. Bush",
)];

const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(day) => day,
        None => panic!("a valid constant date"),
    }
}

/// The days an exchange holds a regular session: weekdays less full-day closures.
///
/// Cheap to clone (the closures are shared). Two calendars are equal when they have the
/// same name and closures.
#[derive(Clone, PartialEq, Eq)]
pub struct TradingCalendar {
    name: Arc<str>,
    /// Weekdays without a session, ascending.
    closures: Arc<[NaiveDate]>,
    /// The longest run of consecutive days without a session (weekends included).
    longest_gap: i64,
}

static NYSE: LazyLock<TradingCalendar> = LazyLock::new(|| {
    let nyse = exchange_hours::calendar_for_exchange(exchange_hours::Exchange::Nyse);
    let mut closed: BTreeSet<NaiveDate> = UNSCHEDULED_CLOSURES.iter().map(|(d, _)| *d).collect();
    if let Some(coverage) = nyse.holiday_coverage() {
        let mut day = coverage.first();
        while day <= coverage.last() {
            let shut = nyse
                .holiday_on(day)
                .is_some_and(|h| h.kind() == exchange_hours::HolidayKind::Closed);
            if shut {
                closed.insert(day);
            }
            day += Duration::days(1);
        }
    }
    TradingCalendar::new("NYSE", closed)
});

impl TradingCalendar {
    /// The New York Stock Exchange, which US equity and index options follow.
    pub fn nyse() -> Self {
        NYSE.clone()
    }

    /// A calendar whose sessions are the weekdays except `closures` (weekend dates among
    /// them change nothing).
    pub fn new(name: &str, closures: impl IntoIterator<Item = NaiveDate>) -> Self {
        let closures: BTreeSet<NaiveDate> =
            closures.into_iter().filter(|d| is_weekday(*d)).collect();
        let closures: Arc<[NaiveDate]> = closures.into_iter().collect();
        let mut cal = Self {
            name: name.into(),
            closures,
            longest_gap: 2,
        };
        cal.longest_gap = cal.measure_longest_gap();
        cal
    }

    /// Every weekday is a session: no holidays at all.
    pub fn weekdays() -> Self {
        Self::new("weekdays", [])
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the exchange holds a session on `day`.
    pub fn is_session(&self, day: NaiveDate) -> bool {
        is_weekday(day) && self.closures.binary_search(&day).is_err()
    }

    /// Whether `day` is a weekday the exchange was shut (a holiday or an unscheduled
    /// closure), as opposed to a session or a weekend.
    pub fn is_closure(&self, day: NaiveDate) -> bool {
        is_weekday(day) && !self.is_session(day)
    }

    /// `day` if it is a session, else the next session: the session a recommendation
    /// sent on `day` opens in, and the session of the weekday a pattern counts it on.
    pub fn session_on_or_after(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        while !self.is_session(d) {
            d += Duration::days(1);
        }
        d
    }

    /// `day` if it is a session, else the last session before it: where an expiration
    /// that falls on a closure (Good Friday) settles.
    pub fn session_on_or_before(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        while !self.is_session(d) {
            d -= Duration::days(1);
        }
        d
    }

    /// The first session after `day`.
    pub fn next_session(&self, day: NaiveDate) -> NaiveDate {
        self.session_on_or_after(day + Duration::days(1))
    }

    /// The last session before `day`.
    pub fn previous_session(&self, day: NaiveDate) -> NaiveDate {
        self.session_on_or_before(day - Duration::days(1))
    }

    /// The session `n` sessions after the one `day` opens in.
    pub fn add_sessions(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut d = self.session_on_or_after(day);
        for _ in 0..n {
            d = self.next_session(d);
        }
        d
    }

    /// The ordinal of the session `day` belongs to (itself, or the next session when
    /// the market is shut): consecutive sessions have consecutive indexes, whatever
    /// weekends and closures lie between them. Differences of indexes count sessions.
    pub fn session_index(&self, day: NaiveDate) -> i64 {
        let s = self.session_on_or_after(day);
        // Weekdays before `s` since 0001-01-01 (a Monday), less the closures before it.
        let days = i64::from(s.num_days_from_ce() - 1);
        let weekdays = 5 * days.div_euclid(7) + days.rem_euclid(7).min(5);
        let closed = self.closures.partition_point(|c| *c < s) as i64;
        weekdays - closed
    }

    /// The most consecutive calendar days without a session (2 for a plain weekend).
    pub fn longest_gap_days(&self) -> i64 {
        self.longest_gap
    }

    fn measure_longest_gap(&self) -> i64 {
        let mut longest = 2;
        for &c in self.closures.iter() {
            let mut first = c;
            while !self.is_session(first - Duration::days(1)) {
                first -= Duration::days(1);
            }
            let mut last = c;
            while !self.is_session(last + Duration::days(1)) {
                last += Duration::days(1);
            }
            longest = longest.max((last - first).num_days() + 1);
        }
        longest
    }
}

impl fmt::Debug for TradingCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "TradingCalendar({}, {} closures)",
            self.name,
            self.closures.len()
        )
    }
}

/// How long a recommendation stays open for the trader's response: the session it is
/// sent in (or, sent on a day the market is shut, the next one) and the next
/// `sessions_after` sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseWindow {
    pub sessions_after: u32,
    pub calendar: TradingCalendar,
}

impl Default for ResponseWindow {
    fn default() -> Self {
        Self {
            sessions_after: 1,
            calendar: TradingCalendar::nyse(),
        }
    }
}

impl ResponseWindow {
    /// The session a recommendation sent on `sent` opens in.
    pub fn first_session(&self, sent: NaiveDate) -> NaiveDate {
        self.calendar.session_on_or_after(sent)
    }

    /// The last day on which a trade still answers a recommendation sent on `sent`:
    /// always a session, so a day the market was shut never closes a window.
    pub fn last_day(&self, sent: NaiveDate) -> NaiveDate {
        self.calendar.add_sessions(sent, self.sessions_after)
    }

    pub fn contains(&self, sent: NaiveDate, day: NaiveDate) -> bool {
        sent <= day && day <= self.last_day(sent)
    }

    /// The earliest day a recommendation still open on `day` can have been sent: exact,
    /// so a query for the recommendations open on a day reads no more days than it must
    /// (Saturday to Tuesday for a Tuesday, by one session after).
    pub fn earliest_sent(&self, day: NaiveDate) -> NaiveDate {
        // A window that reaches `day` ends on the first session on or after it, so it
        // opened `sessions_after` sessions before that one; everything sent after the
        // session before its opening session opens there.
        let mut opens = self.calendar.session_on_or_after(day);
        for _ in 0..self.sessions_after {
            opens = self.calendar.previous_session(opens);
        }
        self.calendar.previous_session(opens) + Duration::days(1)
    }

    /// The most calendar days a window can span after its first day; used to bound
    /// queries for recommendations still open on a day.
    pub fn max_span_days(&self) -> i64 {
        // The first session is at most one gap away, and each further session at most
        // one gap and a day after the previous one.
        let gap = self.calendar.longest_gap_days();
        gap + i64::from(self.sessions_after) * (gap + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn weekdays(n: u32) -> ResponseWindow {
        ResponseWindow {
            sessions_after: n,
            calendar: TradingCalendar::weekdays(),
        }
    }

    #[test]
    fn evening_in_pacific_is_the_next_utc_day() {
        let at: DateTime<Utc> = "2025-01-03T03:30:00Z".parse().unwrap();
        assert_eq!(day_of(at, chrono_tz::America::Los_Angeles), d("2025-01-02"));
        assert_eq!(day_of(at, chrono_tz::UTC), d("2025-01-03"));
    }

    #[test]
    fn the_window_skips_the_weekend() {
        let w = weekdays(1);
        assert_eq!(w.last_day(d("2025-01-02")), d("2025-01-03")); // Thu → Fri
        assert_eq!(w.last_day(d("2025-01-03")), d("2025-01-06")); // Fri → Mon
        assert_eq!(w.last_day(d("2025-01-04")), d("2025-01-07")); // Sat opens Mon → Tue
        assert!(w.contains(d("2025-01-03"), d("2025-01-06")));
        assert!(!w.contains(d("2025-01-03"), d("2025-01-07")));
        assert_eq!(weekdays(0).last_day(d("2025-01-03")), d("2025-01-03"));
    }

    #[test]
    fn the_nyse_knows_regular_holidays_and_unscheduled_closures() {
        let nyse = TradingCalendar::nyse();
        for closed in [
            "2025-01-01", // New Year's Day
            "2025-01-20", // Martin Luther King Jr. Day
            "2025-04-18", // Good Friday
            "2025-07-04", // Independence Day
            "2021-12-24", // Christmas on a Saturday, observed Friday
            "2012-10-29", // Hurricane Sandy
            "2012-10-30",
            "2018-12-05", // mourning, President Bush (added here)
            "2025-01-09", // mourning, President Carter
        ] {
            assert!(!nyse.is_session(d(closed)), "{closed} is a closure");
            assert!(nyse.is_closure(d(closed)), "{closed} is a weekday closure");
        }
        for open in [
            "2025-01-17", // the Friday before MLK Day
            "2025-11-28", // the day after Thanksgiving closes early: still a session
            "2025-12-24", // early close
            "2022-01-03", // New Year's Day 2022 fell on a Saturday and was not moved
            "2021-06-18", // Juneteenth was first observed in 2022
            "2021-12-27",
        ] {
            assert!(nyse.is_session(d(open)), "{open} is a session");
        }
        assert!(!nyse.is_session(d("2025-01-18")));
        assert!(
            !nyse.is_closure(d("2025-01-18")),
            "a Saturday is no closure"
        );
        // Sandy: Saturday to Tuesday without a session.
        assert_eq!(nyse.longest_gap_days(), 4);
    }

    #[test]
    fn sessions_step_over_closures_both_ways() {
        let nyse = TradingCalendar::nyse();
        assert_eq!(nyse.session_on_or_after(d("2025-01-18")), d("2025-01-21"));
        assert_eq!(nyse.session_on_or_before(d("2025-04-18")), d("2025-04-17"));
        assert_eq!(nyse.session_on_or_before(d("2025-04-17")), d("2025-04-17"));
        assert_eq!(nyse.next_session(d("2012-10-26")), d("2012-10-31"));
        assert_eq!(nyse.add_sessions(d("2025-01-17"), 1), d("2025-01-21"));
        assert_eq!(nyse.add_sessions(d("2025-01-20"), 0), d("2025-01-21"));
    }

    #[test]
    fn session_indexes_count_sessions_not_days() {
        let nyse = TradingCalendar::nyse();
        let i = |s: &str| nyse.session_index(d(s));
        assert_eq!(
            i("2025-01-21") - i("2025-01-17"),
            1,
            "MLK Day is no session"
        );
        assert_eq!(
            i("2025-01-20"),
            i("2025-01-21"),
            "a closure belongs to the next"
        );
        assert_eq!(
            i("2025-01-10") - i("2025-01-08"),
            1,
            "Carter's day of mourning"
        );
        assert_eq!(i("2025-01-13") - i("2025-01-10"), 1, "a weekend");
        let plain = TradingCalendar::weekdays();
        assert_eq!(
            plain.session_index(d("2025-01-21")) - plain.session_index(d("2025-01-17")),
            2
        );
        // Before the epoch's first year and far ahead the count still holds.
        let mut day = d("2024-12-20");
        let mut prev = nyse.session_index(day);
        while day < d("2025-02-10") {
            day = nyse.next_session(day);
            let now = nyse.session_index(day);
            assert_eq!(now, prev + 1, "{day}");
            prev = now;
        }
    }

    #[test]
    fn a_closure_mid_window_keeps_it_open_for_the_next_session() {
        let w = ResponseWindow::default();
        // Friday before MLK Day: the window runs to Tuesday.
        assert_eq!(w.last_day(d("2025-01-17")), d("2025-01-21"));
        assert!(w.contains(d("2025-01-17"), d("2025-01-21")));
        // Sent on the holiday: it opens Tuesday and closes Wednesday.
        assert_eq!(w.first_session(d("2025-01-20")), d("2025-01-21"));
        assert_eq!(w.last_day(d("2025-01-20")), d("2025-01-22"));
        // Sent the day before Sandy: open through Wednesday.
        assert_eq!(w.last_day(d("2012-10-26")), d("2012-10-31"));
    }

    #[test]
    fn custom_calendars_are_values() {
        let cal = TradingCalendar::new("test", [d("2025-03-05"), d("2025-03-08")]);
        assert!(!cal.is_session(d("2025-03-05")));
        assert!(cal.is_session(d("2025-03-06")));
        assert_eq!(cal, TradingCalendar::new("test", [d("2025-03-05")]));
        assert_ne!(cal, TradingCalendar::weekdays());
        assert_eq!(cal.longest_gap_days(), 2);
        let long = TradingCalendar::new("long", [d("2025-03-07"), d("2025-03-10")]);
        assert_eq!(long.longest_gap_days(), 4);
    }

    #[test]
    fn max_span_covers_every_start_day() {
        for cal in [TradingCalendar::weekdays(), TradingCalendar::nyse()] {
            for n in 0..6 {
                let w = ResponseWindow {
                    sessions_after: n,
                    calendar: cal.clone(),
                };
                let mut sent = d("2012-10-01");
                while sent < d("2013-01-15") {
                    assert!((w.last_day(sent) - sent).num_days() <= w.max_span_days());
                    sent += Duration::days(1);
                }
            }
        }
        assert_eq!(weekdays(1).max_span_days(), 5);
    }

    #[test]
    fn earliest_sent_is_exactly_the_first_day_whose_window_reaches_a_day() {
        for cal in [TradingCalendar::weekdays(), TradingCalendar::nyse()] {
            for n in 0..4 {
                let w = ResponseWindow {
                    sessions_after: n,
                    calendar: cal.clone(),
                };
                let mut day = d("2012-10-20");
                while day < d("2012-11-30") {
                    let first = w.earliest_sent(day);
                    assert!(first <= day);
                    assert!(w.contains(first, day), "{n}: {first} → {day}");
                    assert!(!w.contains(first - Duration::days(1), day), "{n}: {day}");
                    assert!((day - first).num_days() <= w.max_span_days());
                    day += Duration::days(1);
                }
            }
        }
        let w = ResponseWindow::default();
        assert_eq!(w.earliest_sent(d("2025-01-14")), d("2025-01-11"));
        assert_eq!(w.earliest_sent(d("2025-01-21")), d("2025-01-17"));
        assert_eq!(w.earliest_sent(d("2025-01-20")), d("2025-01-17"));
    }
}
