//! ISO weeks (`2025-W01`), the unit of summaries and of the Saturday run: weeks are
//! vocabulary every floor speaks, so they live here, below learning and the store.

use chrono::{Datelike, Duration, IsoWeek, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// An ISO week (`2025-W01`), the unit of summaries. Only [`Week::new`] and [`Week::of`]
/// make one (also when read back from JSON), so every week has a Monday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWeek")]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

/// The years a week may be in: four-digit years (dates far outside them are typing
/// mistakes, and the calendar library ends at year 262,142).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// A week that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoSuchWeek {
    #[error("{year} has no ISO week {week} (weeks run from 1 to {last})")]
    Week { year: i32, week: u32, last: u32 },
    #[error("{year} is not a year this program keeps weeks for (1 to 9999)")]
    Year { year: i32 },
}

#[derive(Deserialize)]
struct RawWeek {
    year: i32,
    week: u32,
}

impl TryFrom<RawWeek> for Week {
    type Error = NoSuchWeek;

    fn try_from(raw: RawWeek) -> Result<Self, Self::Error> {
        Week::new(raw.year, raw.week)
    }
}

impl Week {
    /// The week `year`-W`week`, if it exists (week 53 only in long years).
    pub fn new(year: i32, week: u32) -> Result<Self, NoSuchWeek> {
        if !YEARS.contains(&year) {
            return Err(NoSuchWeek::Year { year });
        }
        let last = NaiveDate::from_ymd_opt(year, 12, 28)
            .map(|d| d.iso_week().week())
            .unwrap_or(52);
        if week == 0 || week > last {
            return Err(NoSuchWeek::Week { year, week, last });
        }
        Ok(Self { year, week })
    }

    /// The ISO week a day falls in.
    pub fn of(day: NaiveDate) -> Self {
        let w: IsoWeek = day.iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    /// Its Monday.
    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
            .expect("weeks are checked on construction")
    }

    /// Its Sunday.
    pub fn sunday(self) -> NaiveDate {
        self.monday() + Duration::days(6)
    }

    /// The week `n` weeks before (the first week of year 1 at the earliest).
    pub fn minus(self, n: u32) -> Self {
        const FIRST: Week = Week { year: 1, week: 1 };
        self.monday()
            .checked_sub_signed(Duration::weeks(i64::from(n)))
            .map(Self::of)
            .filter(|w| *w >= FIRST)
            .unwrap_or(FIRST)
    }

    /// `2025-W01`.
    pub fn label(self) -> String {
        format!("{}-W{:02}", self.year, self.week)
    }
}

impl std::fmt::Display for Week {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_know_their_days_and_reject_impossible_numbers() {
        let w = Week::new(2025, 1).unwrap();
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2024, 12, 30).unwrap());
        assert_eq!(w.sunday(), NaiveDate::from_ymd_opt(2025, 1, 5).unwrap());
        assert_eq!(Week::of(NaiveDate::from_ymd_opt(2025, 1, 5).unwrap()), w);
        assert_eq!(w.minus(1), Week::new(2024, 52).unwrap());
        assert!(Week::new(2026, 53).is_ok());
        assert_eq!(
            Week::new(2025, 53).unwrap_err().to_string(),
            "2025 has no ISO week 53 (weeks run from 1 to 52)"
        );
        assert!(Week::new(2025, 0).is_err());
    }

    #[test]
    fn a_year_out_of_range_is_refused_not_a_panic() {
        for year in [262_143, 262_142, 10_000, 0, -5, i32::MAX, i32::MIN] {
            let e = Week::new(year, 1).unwrap_err();
            assert_eq!(e, NoSuchWeek::Year { year });
        }
        assert_eq!(
            Week::new(9999, 52).unwrap().sunday().to_string(),
            "+10000-01-02"
        );
        assert_eq!(
            Week::new(1, 2).unwrap().minus(1_000_000),
            Week::new(1, 1).unwrap()
        );
        assert!(serde_json::from_str::<Week>(r#"{"year": 262143, "week": 1}"#).is_err());
        assert!(serde_json::from_str::<Week>(r#"{"year": 2025, "week": 1}"#).is_ok());
    }
}
