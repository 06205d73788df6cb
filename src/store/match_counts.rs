//! How many matches a filter selects, without counting them one by one: whole months
//! come from `match_counts` (per account, month, match type and underlying, kept exact
//! by the triggers of migration 0010 on every write of a match), and only the days of a
//! month the filter cuts into are counted row by row (over the indexes of migration
//! 0008). An account's 100,000 matches are summed from a few hundred rows.

use chrono::{Datelike, Days, NaiveDate};
use sqlx::{AnyConnection, Row};

use super::Result;
use super::matches::{MatchFilter, Value, bind_values};

/// The number of matches `filter` selects (its `limit` and `offset` are ignored).
pub(super) async fn match_total(conn: &mut AnyConnection, filter: &MatchFilter) -> Result<i64> {
    let (sql, values) = total_query(filter, 1);
    Ok(bind_values(sqlx::query(&sql), values)
        .fetch_one(conn)
        .await?
        .try_get(0)?)
}

/// The first day of the first month wholly on or after `from`.
fn first_whole_month(from: NaiveDate) -> Option<NaiveDate> {
    if from.day() == 1 {
        Some(from)
    } else {
        from.with_day(1)?.checked_add_months(chrono::Months::new(1))
    }
}

/// The last day of the last month wholly on or before `to`.
fn last_whole_month(to: NaiveDate) -> Option<NaiveDate> {
    let next = to.checked_add_days(Days::new(1))?;
    if next.day() == 1 {
        Some(to)
    } else {
        to.with_day(1)?.checked_sub_days(Days::new(1))
    }
}

fn month(d: NaiveDate) -> String {
    format!("{:04}-{:02}", d.year(), d.month())
}

/// One statement adding the months wholly inside the filter's days (from the counts)
/// and the days of the months it cuts into (row by row), with its values, numbered
/// from `$first` (so that it can be a subquery of a statement with values of its own).
pub(super) fn total_query(filter: &MatchFilter, first: usize) -> (String, Vec<Value>) {
    let mut values = Vec::new();
    let n = |values: &Vec<Value>| values.len() + first - 1;
    // Whole months [lo, hi] (None: unbounded), and the day ranges counted row by row.
    let lo = filter.from.map(first_whole_month);
    let hi = filter.to.map(last_whole_month);
    let whole = match (lo, hi) {
        (Some(None), _) | (_, Some(None)) => None,
        (Some(Some(l)), Some(Some(h))) if l > h => None,
        (l, h) => Some((l.flatten(), h.flatten())),
    };
    let mut edges: Vec<(Option<NaiveDate>, Option<NaiveDate>)> = Vec::new();
    match whole {
        None => edges.push((filter.from, filter.to)),
        Some((l, h)) => {
            if let (Some(from), Some(l)) = (filter.from, l)
                && from < l
            {
                edges.push((Some(from), l.checked_sub_days(Days::new(1))));
            }
            if let (Some(to), Some(h)) = (filter.to, h)
                && to > h
            {
                edges.push((h.checked_add_days(Days::new(1)), Some(to)));
            }
        }
    }

    let mut sql = String::from("SELECT ");
    if let Some((l, h)) = whole {
        sql.push_str(
            "(SELECT CAST(COALESCE(SUM(c.n), 0) AS BIGINT) FROM match_counts c WHERE 1 = 1",
        );
        same_filters(filter, "c", first, &mut sql, &mut values);
        if let Some(l) = l {
            values.push(Value::Text(month(l)));
            sql.push_str(&format!(" AND c.month >= ${}", n(&values)));
        }
        if let Some(h) = h {
            values.push(Value::Text(month(h)));
            sql.push_str(&format!(" AND c.month <= ${}", n(&values)));
        }
        sql.push(')');
    } else {
        sql.push_str("CAST(0 AS BIGINT)");
    }
    if !edges.is_empty() {
        sql.push_str(" + (SELECT COUNT(*) FROM recommendation_execution_matches t WHERE 1 = 1");
        same_filters(filter, "t", first, &mut sql, &mut values);
        let mut ranges = Vec::new();
        for (from, to) in edges {
            let mut range = Vec::new();
            if let Some(f) = from {
                values.push(Value::Text(f.to_string()));
                range.push(format!("t.day >= ${}", n(&values)));
            }
            if let Some(t) = to {
                values.push(Value::Text(t.to_string()));
                range.push(format!("t.day <= ${}", n(&values)));
            }
            if range.is_empty() {
                range.push("1 = 1".to_owned());
            }
            ranges.push(format!("({})", range.join(" AND ")));
        }
        sql.push_str(&format!(" AND ({}))", ranges.join(" OR ")));
    }
    (sql, values)
}

/// ` AND t.column = $n` for the filter's account, match type and underlying.
fn same_filters(
    filter: &MatchFilter,
    table: &str,
    first: usize,
    sql: &mut String,
    values: &mut Vec<Value>,
) {
    let n = |values: &Vec<Value>| values.len() + first - 1;
    if let Some(a) = filter.account {
        values.push(Value::Int(a.0));
        sql.push_str(&format!(" AND {table}.account_id = ${}", n(values)));
    }
    if let Some(t) = filter.match_type {
        values.push(Value::Text(t.as_str().to_owned()));
        sql.push_str(&format!(" AND {table}.match_type = ${}", n(values)));
    }
    if let Some(s) = &filter.symbol {
        values.push(Value::Text(s.as_str().to_owned()));
        sql.push_str(&format!(" AND {table}.underlying = ${}", n(values)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("a day")
    }

    #[test]
    fn whole_months_inside_a_range() {
        assert_eq!(first_whole_month(d("2024-03-01")), Some(d("2024-03-01")));
        assert_eq!(first_whole_month(d("2024-03-02")), Some(d("2024-04-01")));
        assert_eq!(first_whole_month(d("2024-12-31")), Some(d("2025-01-01")));
        assert_eq!(last_whole_month(d("2024-02-29")), Some(d("2024-02-29")));
        assert_eq!(last_whole_month(d("2024-02-28")), Some(d("2024-01-31")));
        assert_eq!(last_whole_month(d("2024-03-01")), Some(d("2024-02-29")));
    }

    #[test]
    fn a_range_inside_one_month_is_counted_row_by_row() {
        let filter = MatchFilter {
            from: Some(d("2024-03-05")),
            to: Some(d("2024-03-20")),
            ..MatchFilter::default()
        };
        let (sql, values) = total_query(&filter, 1);
        assert!(!sql.contains("match_counts"), "{sql}");
        assert_eq!(values.len(), 2);
    }

    #[test]
    fn whole_months_come_from_the_counts_and_the_edges_from_the_rows() {
        let filter = MatchFilter {
            from: Some(d("2024-03-05")),
            to: Some(d("2024-06-30")),
            ..MatchFilter::default()
        };
        let (sql, values) = total_query(&filter, 1);
        assert!(sql.contains("match_counts"), "{sql}");
        // Months 2024-04 to 2024-06, then the days 2024-03-05 to 2024-03-31.
        assert_eq!(values.len(), 4);
        let (offset, _) = total_query(&filter, 5);
        assert!(offset.contains("$5") && offset.contains("$8") && !offset.contains("$4"));
        let unbounded = total_query(&MatchFilter::default(), 1).0;
        assert!(!unbounded.contains("recommendation_execution_matches"));
    }
}
