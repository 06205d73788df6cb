//! ISO weeks (`2025-W01`), the unit of summaries and of the Saturday run: weeks are
//! vocabulary every floor speaks, so they live here, below learning and the store.

use chrono::{Datelike, Duration, IsoWeek, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// An ISO week (`2025-W01`), the unit of summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Week {
    pub year: i32,
    pub week: u32,
}

/// A week number that does not exist in its year.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{year} has no ISO week {week} (weeks run from 1 to {last})")]
pub struct NoSuchWeek {
    pub year: i32,
    pub week: u32,
    pub last: u32,
}

impl Week {
    /// The week `year`-W`week`, if it exists (week 53 only in long years).
    pub fn new(year: i32, week: u32) -> Result<Self, NoSuchWeek> {
        let last = NaiveDate::from_ymd_opt(year, 12, 28)
            .map(|d| d.iso_week().week())
            .unwrap_or(52);
        if week == 0 || week > last {
            return Err(NoSuchWeek { year, week, last });
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

    /// The week `n` weeks before.
    pub fn minus(self, n: u32) -> Self {
        Self::of(self.monday() - Duration::weeks(i64::from(n)))
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
}
