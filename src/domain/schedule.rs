//! When: the slots of a schedule, computed in the real zone (pure, no clock reads).
//!
//! tokio-cron-scheduler's time-zone jobs keep the UTC offset they were created with and
//! fire an hour off after a daylight saving change (its issues #87 and #107), so which
//! runs are due is decided here, by [`slots_between`], a pure function of the
//! [`SlotSpec`], the zone and a UTC interval. A wall-clock time that does not exist
//! (skipped by a spring-forward change) runs as if the clock had not changed — moved
//! forward by the length of the gap (02:30 → 03:30); one that happens twice (fall back)
//! runs once, at its first occurrence. A slot is named by its local wall-clock time
//! (`2026-03-09T21:00`), so the run ledger's key is the same in every process.

use std::fmt;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

/// When a job runs: on some days of the week at a wall-clock time in the schedule zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSpec {
    /// Days of the week, Monday first, no repeats.
    pub days: Vec<Weekday>,
    pub time: NaiveTime,
}

/// A schedule setting that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpecError(String);

impl SlotSpec {
    /// Parses `HH:MM` (on `default_days`), or days and a time: `Sat 09:00`,
    /// `Mon-Fri 21:00`, `Mon,Wed,Fri 07:30`, `daily 06:00`.
    pub fn parse(text: &str, default_days: &[Weekday]) -> Result<Self, SpecError> {
        let text = text.trim();
        let (days, time) = match text.rsplit_once(char::is_whitespace) {
            Some((days, time)) => (parse_days(days.trim())?, time),
            None => (default_days.to_vec(), text),
        };
        let time = NaiveTime::parse_from_str(time, "%H:%M")
            .map_err(|_| SpecError(format!("`{time}` is not a time of day (expected HH:MM)")))?;
        Ok(Self { days, time })
    }

    /// The spec's occurrences in `(from, to]`, in time order.
    pub fn slots_between(&self, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
        slots_between(self, tz, from, to)
    }
}

impl fmt::Display for SlotSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days: Vec<String> = self.days.iter().map(ToString::to_string).collect();
        write!(f, "{} {}", days.join(","), self.time.format("%H:%M"))
    }
}

fn parse_days(text: &str) -> Result<Vec<Weekday>, SpecError> {
    let day = |s: &str| {
        s.trim()
            .parse::<Weekday>()
            .map_err(|_| SpecError(format!("`{s}` is not a day of the week (Mon … Sun)")))
    };
    let mut out = Vec::new();
    if text.eq_ignore_ascii_case("daily") {
        out.extend((0..7).map(|n| Weekday::try_from(n as u8).unwrap_or(Weekday::Mon)));
    } else {
        for part in text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    let mut d = a;
                    loop {
                        out.push(d);
                        if d == b {
                            break;
                        }
                        d = d.succ();
                    }
                }
                None => out.push(day(part)?),
            }
        }
    }
    out.sort_by_key(|d| d.num_days_from_monday());
    out.dedup();
    Ok(out)
}

/// One occurrence of a [`SlotSpec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Slot {
    /// When it fires.
    pub at: DateTime<Utc>,
    /// The wall-clock time it stands for (also when `at` had to move across a gap).
    pub local: NaiveDateTime,
}

impl Slot {
    /// The ledger key: the local wall-clock time, `2026-03-09T21:00`.
    pub fn key(&self) -> String {
        self.local.format("%Y-%m-%dT%H:%M").to_string()
    }

    /// The local day the slot belongs to.
    pub fn day(&self) -> NaiveDate {
        self.local.date()
    }
}

/// The UTC instant of a local wall-clock time, decided for every case: a time inside a
/// spring-forward gap is read with the offset in effect before the gap (02:30 becomes
/// 03:30), an ambiguous one is its first occurrence.
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // A day earlier is before any gap: zones do not change twice in a day.
            let before = tz
                .offset_from_utc_datetime(&(local - Duration::days(1)))
                .fix();
            (local - Duration::seconds(i64::from(before.local_minus_utc()))).and_utc()
        }
    }
}

/// The occurrences of `spec` in `(from, to]`, in time order.
pub fn slots_between(spec: &SlotSpec, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
    if to <= from {
        return Vec::new();
    }
    let first = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&tz).date_naive() + Duration::days(1);
    first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| spec.days.contains(&d.weekday()))
        .map(|d| {
            let local = d.and_time(spec.time);
            Slot {
                at: resolve_local(tz, local),
                local,
            }
        })
        .filter(|s| s.at > from && s.at <= to)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn specs_parse_days_ranges_and_defaults() {
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ];
        let s = SlotSpec::parse("21:00", &weekdays).unwrap();
        assert_eq!(s.days, weekdays);
        assert_eq!(s.time, NaiveTime::from_hms_opt(21, 0, 0).unwrap());
        assert_eq!(
            SlotSpec::parse("Sat 09:00", &[]).unwrap().days,
            [Weekday::Sat]
        );
        assert_eq!(
            SlotSpec::parse("Fri-Mon 07:30", &[]).unwrap().days,
            [Weekday::Mon, Weekday::Fri, Weekday::Sat, Weekday::Sun]
        );
        assert_eq!(SlotSpec::parse("daily 06:00", &[]).unwrap().days.len(), 7);
        assert!(SlotSpec::parse("Sat 9am", &[]).is_err());
        assert!(SlotSpec::parse("Caturday 09:00", &[]).is_err());
    }

    #[test]
    fn a_time_in_the_spring_gap_moves_forward_by_the_gap() {
        let tz = chrono_tz::America::Los_Angeles;
        let local = NaiveDate::from_ymd_opt(2026, 3, 8)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(tz, local), utc("2026-03-08T10:30:00Z"));
    }

    #[test]
    fn an_ambiguous_time_is_its_first_occurrence() {
        let tz = chrono_tz::America::Los_Angeles;
        let local = NaiveDate::from_ymd_opt(2026, 11, 1)
            .unwrap()
            .and_hms_opt(1, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(tz, local), utc("2026-11-01T08:30:00Z"));
    }
}
