//! Values that would pass a parser and break later are refused at the edge, the same way
//! on SQLite and on Postgres: a NUL byte in any cell, ids of any length, amounts and
//! quantities that would overflow money arithmetic, an expiration before the trade.

mod common;

use std::io::Cursor;

use common::{TestDb, now, tz};
use rlhf_bot::app::import::{ImportReport, import_reader};
use rlhf_bot::import::{ImportFormat, ImportKind};

const EXEC_HEADER: &str = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n";

async fn import(db: &TestDb, kind: ImportKind, body: String) -> ImportReport {
    import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        Cursor::new(body.into_bytes()),
        tz(),
        now(),
    )
    .await
    .expect("the import runs")
}

fn reasons(r: &ImportReport) -> Vec<(u64, Option<String>, String)> {
    r.errors
        .iter()
        .map(|e| (e.line, e.column.clone(), e.reason.clone()))
        .collect()
}

async fn bad_values_are_refused_by_line_and_column(db: &TestDb) {
    let good = "F1,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65";
    let rows = [
        good.to_owned(),
        // 2: a NUL byte inside a cell (Postgres cannot store it; SQLite could).
        "F2,7,2025-01-06T09:35:00-08:00,sell_to_open,AA\0PL,put,150,2025-01-17,1,1.25,0.65"
            .to_owned(),
        // 3: a broker_ref of a megabyte.
        format!(
            "{},7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65",
            "R".repeat(1 << 20)
        ),
        // 4: more contracts than an order has.
        "F4,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,100001,1.25,0.65"
            .to_owned(),
        // 5: each value within its bound, but the fill worth $99,999,999,900,000 (12 such
        // fills once wrapped a week's P&L around to minus $644 trillion).
        "F5,7,2025-01-06T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,100000,9999999.99,0.65"
            .to_owned(),
        // 6: a trade after its contract expired.
        "F6,7,2025-01-21T09:35:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0.65"
            .to_owned(),
        // 7: an expiry posted after the expiration date is a lifecycle event, and fine.
        "F7,7,2025-01-20T05:00:00-08:00,expired,AAPL,put,150,2025-01-17,1,0,0".to_owned(),
    ];
    let body = format!("{EXEC_HEADER}{}\n", rows.join("\n"));
    let r = import(db, ImportKind::Executions, body).await;
    assert_eq!(r.imported, 2, "{:?}", reasons(&r));
    let got = reasons(&r);
    let lines: Vec<u64> = got.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(lines, [3, 4, 5, 6, 7], "{got:?}");
    let by_line = |l: u64| got.iter().find(|(line, _, _)| *line == l).unwrap();
    assert_eq!(by_line(3).1.as_deref(), Some("underlying"));
    assert!(by_line(3).2.contains("NUL"), "{:?}", by_line(3));
    assert_eq!(by_line(4).1.as_deref(), Some("broker_ref"));
    assert!(by_line(4).2.len() < 300, "a long value is not echoed whole");
    assert_eq!(by_line(5).1.as_deref(), Some("contracts"));
    assert_eq!(by_line(6).1.as_deref(), Some("price"));
    assert!(
        by_line(6)
            .2
            .contains("more than the $100,000,000.00 one row may carry"),
        "{:?}",
        by_line(6)
    );
    assert_eq!(by_line(7).1.as_deref(), Some("expiration"));
    assert!(
        by_line(7).2.contains("before this sell_to_open"),
        "{:?}",
        by_line(7)
    );
}

async fn a_recommendation_for_an_expired_contract_is_refused(db: &TestDb) {
    let header = "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium\n";
    let body = format!(
        "{header}r1,7,2025-01-21T09:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25\n\
         r2,7,2025-01-17T09:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25\n"
    );
    let r = import(db, ImportKind::Recommendations, body).await;
    assert_eq!(r.imported, 1);
    assert_eq!(r.errors.len(), 1);
    assert_eq!(r.errors[0].line, 2);
    assert_eq!(r.errors[0].column.as_deref(), Some("expiration"));
}

both!(
    bad_values_are_refused_by_line_and_column,
    bad_values_are_refused_by_line_and_column
);
both!(
    a_recommendation_for_an_expired_contract_is_refused,
    a_recommendation_for_an_expired_contract_is_refused
);
