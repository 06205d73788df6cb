//! Days and windows in the schedule time zone. Timestamps are UTC everywhere; "the day"
//! of an event is its date in the schedule zone, computed here and nowhere else.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// The date of `at` in `tz`.
pub fn day_of(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

pub fn is_weekday(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// `day` moved forward by `n` weekdays (Saturday and Sunday are skipped).
pub fn add_weekdays(day: NaiveDate, n: u32) -> NaiveDate {
    let mut d = day;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if is_weekday(d) {
            left -= 1;
        }
    }
    d
}

/// How long a recommendation stays open for the trader's response: the day it was sent
/// and the next `weekdays_after` weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseWindow {
    pub weekdays_after: u32,
}

impl Default for ResponseWindow {
    fn default() -> Self {
        Self { weekdays_after: 1 }
    }
}

impl ResponseWindow {
    /// The last day on which a trade still answers a recommendation sent on `sent`.
    pub fn last_day(self, sent: NaiveDate) -> NaiveDate {
        add_weekdays(sent, self.weekdays_after)
    }

    pub fn contains(self, sent: NaiveDate, day: NaiveDate) -> bool {
        sent <= day && day <= self.last_day(sent)
    }

    /// The most calendar days a window can span after its first day; used to bound
    /// queries for recommendations still open on a day.
    pub fn max_span_days(self) -> i64 {
        // n weekdays need at most n + 2 * ceil((n + 1) / 5) + 2 calendar days.
        let n = i64::from(self.weekdays_after);
        n + 2 * ((n + 5) / 5) + 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn evening_in_pacific_is_the_next_utc_day() {
        let at: DateTime<Utc> = "2025-01-03T03:30:00Z".parse().unwrap();
        assert_eq!(day_of(at, chrono_tz::America::Los_Angeles), d("2025-01-02"));
        assert_eq!(day_of(at, chrono_tz::UTC), d("2025-01-03"));
    }

    #[test]
    fn the_window_skips_the_weekend() {
        let w = ResponseWindow::default();
        assert_eq!(w.last_day(d("2025-01-02")), d("2025-01-03")); // Thu → Fri
        assert_eq!(w.last_day(d("2025-01-03")), d("2025-01-06")); // Fri → Mon
        assert_eq!(w.last_day(d("2025-01-04")), d("2025-01-06")); // Sat → Mon
        assert!(w.contains(d("2025-01-03"), d("2025-01-06")));
        assert!(!w.contains(d("2025-01-03"), d("2025-01-07")));
        assert_eq!(
            ResponseWindow { weekdays_after: 0 }.last_day(d("2025-01-03")),
            d("2025-01-03")
        );
    }

    #[test]
    fn max_span_covers_every_start_day() {
        for n in 0..12 {
            let w = ResponseWindow { weekdays_after: n };
            for offset in 0..7 {
                let sent = d("2025-01-06") + Duration::days(offset);
                assert!((w.last_day(sent) - sent).num_days() <= w.max_span_days());
            }
        }
    }
}
