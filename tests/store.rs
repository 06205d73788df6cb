//! The store, the jobs and the import path together, on SQLite and on Postgres.

mod common;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use common::{TestDb, now, rules, tz};
use rlhf_bot::app;
use rlhf_bot::app::import::{ImportReport, import_reader};
use rlhf_bot::domain::{AccountId, MatchType, OutcomeStatus, Reason, ReasonCode, Side};
use rlhf_bot::import::{ImportFormat, ImportKind};
use rlhf_bot::store::{MatchFilter, MatchRecord, Scope, StoreError};

const REC_HEADER: &str = "external_id,account,created_at,action,underlying,right,strike,expiration,contracts,premium,position\n";
const EXEC_HEADER: &str = "broker_ref,account,executed_at,action,underlying,right,strike,expiration,contracts,price,fees\n";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

async fn import(db: &TestDb, kind: ImportKind, body: &str) -> ImportReport {
    let header = match kind {
        ImportKind::Recommendations => REC_HEADER,
        ImportKind::Executions => EXEC_HEADER,
        ImportKind::Prices => "symbol,date,close\n",
    };
    let text = format!("{header}{body}");
    import_reader(
        &db.store,
        kind,
        ImportFormat::Generic,
        std::io::Cursor::new(text.into_bytes()),
        tz(),
        now(),
    )
    .await
    .expect("import runs")
}

async fn reconcile(db: &TestDb, day: &str) -> app::reconcile::DayReport {
    app::reconcile::run_day(&db.store, &rules(), tz(), d(day), None, now())
        .await
        .expect("reconcile")
}

async fn all_matches(db: &TestDb) -> Vec<MatchRecord> {
    db.store
        .matches(&MatchFilter::default())
        .await
        .expect("matches")
}

fn types(ms: &[MatchRecord]) -> Vec<(String, MatchType)> {
    let mut v: Vec<_> = ms
        .iter()
        .map(|m| {
            (
                m.recommendation
                    .clone()
                    .unwrap_or_else(|| m.executions.join("+")),
                m.match_type,
            )
        })
        .collect();
    v.sort();
    v
}

async fn importing_the_same_file_twice_imports_nothing_twice(db: &TestDb) {
    let body = "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\n\
                r2,100,2025-01-02T09:31:00-08:00,sell_to_open,MSFT,put,400,2025-01-17,2,3.10,\n\
                r3,100,2025-01-02T09:32:00-08:00,sell_to_open,AAPL,call,bad,2025-01-17,1,1.25,\n\
                r4,200,2025-01-02T09:33:00-08:00,sell_to_open,SPY,put,580,2025-01-17,1,2.00,\n";
    let first = import(db, ImportKind::Recommendations, body).await;
    assert_eq!(first.summary(), "imported 3, duplicates 0, rejected 1");
    assert_eq!(first.errors[0].line, 4);
    assert_eq!(first.errors[0].column.as_deref(), Some("strike"));
    let again = import(db, ImportKind::Recommendations, body).await;
    assert_eq!(again.summary(), "imported 0, duplicates 3, rejected 1");
    let changed = import(
        db,
        ImportKind::Recommendations,
        "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,155,2025-01-17,1,1.25,\n",
    )
    .await;
    assert_eq!(changed.summary(), "imported 0, duplicates 0, rejected 1");
    assert!(
        changed.errors[0]
            .reason
            .contains("already stored with different values"),
        "{}",
        changed.errors[0]
    );
    // Same key twice inside one file: the second is a duplicate, not a second row.
    let twice = import(
        db,
        ImportKind::Prices,
        "AAPL,2025-01-17,160.00\nAAPL,2025-01-17,160.00\nAAPL,2025-01-17,161.00\n",
    )
    .await;
    assert_eq!(twice.summary(), "imported 1, duplicates 1, rejected 1");
    assert_eq!(
        db.store.account_ids().await.unwrap(),
        vec![AccountId(100), AccountId(200)]
    );
}
both!(
    import_idempotence,
    importing_the_same_file_twice_imports_nothing_twice
);

async fn rerunning_a_day_changes_nothing(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\n\
         r2,100,2025-01-02T09:31:00-08:00,sell_to_open,MSFT,put,400,2025-01-24,2,3.10,\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        "b1,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.30,0.65\n\
         b2,100,2025-01-02T10:05:00-08:00,sell_to_open,MSFT,put,400,2025-01-31,1,3.50,0.65\n\
         b3,100,2025-01-02T19:30:00-08:00,sell_to_open,TSLA,call,450,2025-01-17,1,5.00,0.65\n",
    )
    .await;
    let first = reconcile(db, "2025-01-02").await;
    assert_eq!(first.counts["consent"], 1);
    assert_eq!(first.counts["modify"], 1);
    assert_eq!(
        first.counts["independent"], 1,
        "the 19:30 Pacific trade belongs to Jan 2"
    );
    let before = all_matches(db).await;
    let again = reconcile(db, "2025-01-02").await;
    assert_eq!(again.written, 0);
    assert_eq!(all_matches(db).await, before);
    let modify = before
        .iter()
        .find(|m| m.match_type == MatchType::Modify)
        .unwrap();
    assert_eq!(modify.modifications, vec!["dte+7", "contracts-1"]);
    assert_eq!(modify.executions, vec!["b2"]);
    // Every filter, alone and together, on this backend.
    let filtered = |f: MatchFilter| async move { db.store.matches(&f).await.unwrap() };
    let msft = rlhf_bot::domain::Symbol::parse("msft").unwrap();
    let by_type = filtered(MatchFilter {
        match_type: Some(MatchType::Modify),
        ..MatchFilter::default()
    })
    .await;
    assert_eq!(by_type, vec![modify.clone()]);
    let by_all = filtered(MatchFilter {
        from: Some(d("2025-01-02")),
        to: Some(d("2025-01-02")),
        match_type: Some(MatchType::Modify),
        symbol: Some(msft.clone()),
        account: Some(AccountId(100)),
        ..MatchFilter::default()
    })
    .await;
    assert_eq!(by_all, vec![modify.clone()]);
    let other_day = filtered(MatchFilter {
        from: Some(d("2025-01-03")),
        symbol: Some(msft),
        ..MatchFilter::default()
    })
    .await;
    assert!(other_day.is_empty());
    let paged = filtered(MatchFilter {
        limit: Some(2),
        offset: 1,
        ..MatchFilter::default()
    })
    .await;
    assert_eq!(paged, before[1..3].to_vec());
}
both!(rerun_is_a_no_op, rerunning_a_day_changes_nothing);

async fn a_late_import_is_picked_up_by_rerunning_its_day(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\n",
    )
    .await;
    reconcile(db, "2025-01-02").await;
    reconcile(db, "2025-01-03").await;
    assert_eq!(
        types(&all_matches(db).await),
        vec![("r1".to_owned(), MatchType::Reject)]
    );
    import(
        db,
        ImportKind::Executions,
        "late,100,2025-01-02T12:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.20,0\n",
    )
    .await;
    let report = reconcile(db, "2025-01-02").await;
    assert_eq!(report.revisited, vec![d("2025-01-03")]);
    let ms = all_matches(db).await;
    assert_eq!(types(&ms), vec![("r1".to_owned(), MatchType::Consent)]);
    assert_eq!(ms[0].day, d("2025-01-02"));
}
both!(late_import, a_late_import_is_picked_up_by_rerunning_its_day);

async fn a_reason_is_kept_across_reruns(db: &TestDb) {
    import(
        db,
        ImportKind::Executions,
        "t1,100,2025-01-06T07:00:00-08:00,sell_to_open,NVDA,put,120,2025-01-24,2,2.40,1.30\n",
    )
    .await;
    reconcile(db, "2025-01-06").await;
    let ms = all_matches(db).await;
    assert_eq!(ms[0].match_type, MatchType::Independent);
    db.store
        .set_reason(
            ms[0].id,
            Scope::All,
            &Reason::new(ReasonCode::BetterOpportunity, Some("NVDA dipped")).unwrap(),
            now(),
        )
        .await
        .unwrap();
    // The recommendation arrives late: the trade is now a modification of it.
    import(
        db,
        ImportKind::Recommendations,
        "n1,100,2025-01-06T06:45:00-08:00,sell_to_open,NVDA,put,115,2025-01-24,2,2.00,\n",
    )
    .await;
    reconcile(db, "2025-01-06").await;
    let ms = all_matches(db).await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ms[0].match_type, MatchType::Modify);
    assert_eq!(ms[0].reason_code.as_deref(), Some("better_opportunity"));
    assert_eq!(ms[0].reason_text.as_deref(), Some("NVDA dipped"));
    // A reason on a reject survives re-runs too.
    import(
        db,
        ImportKind::Recommendations,
        "n2,100,2025-01-06T06:50:00-08:00,sell_to_open,AMD,put,110,2025-01-24,1,1.10,\n",
    )
    .await;
    reconcile(db, "2025-01-06").await;
    reconcile(db, "2025-01-07").await;
    let reject = all_matches(db)
        .await
        .into_iter()
        .find(|m| m.match_type == MatchType::Reject)
        .unwrap();
    db.store
        .set_reason(
            reject.id,
            Scope::All,
            &Reason::new(ReasonCode::PremiumLow, None).unwrap(),
            now(),
        )
        .await
        .unwrap();
    reconcile(db, "2025-01-06").await;
    reconcile(db, "2025-01-07").await;
    let reject_again = db.store.match_detail(reject.id, Scope::All).await.unwrap();
    assert_eq!(reject_again.reason_code.as_deref(), Some("premium_low"));
}
both!(reasons_survive, a_reason_is_kept_across_reruns);

async fn accounts_never_see_each_other(db: &TestDb) {
    for acct in [100, 200] {
        import(
            db,
            ImportKind::Recommendations,
            &format!(
                "x,{acct},2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,\n"
            ),
        )
        .await;
    }
    import(
        db,
        ImportKind::Executions,
        "same,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        "same,200,2025-01-02T10:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,0\n",
    )
    .await;
    reconcile(db, "2025-01-02").await;
    for acct in [100, 200] {
        let ms = db
            .store
            .matches(&MatchFilter {
                account: Some(AccountId(acct)),
                ..MatchFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(ms.len(), 1);
        assert_eq!(ms[0].match_type, MatchType::Consent);
        assert_eq!(ms[0].account, AccountId(acct));
    }
    let mine = db
        .store
        .matches(&MatchFilter {
            account: Some(AccountId(100)),
            ..MatchFilter::default()
        })
        .await
        .unwrap();
    let theirs = db
        .store
        .match_detail(mine[0].id, Scope::Account(AccountId(200)))
        .await;
    assert!(matches!(theirs, Err(StoreError::NotFound(_))));
    let forged = db
        .store
        .set_reason(
            mine[0].id,
            Scope::Account(AccountId(200)),
            &Reason::new(ReasonCode::Timing, None).unwrap(),
            now(),
        )
        .await;
    assert!(matches!(forged, Err(StoreError::NotFound(_))));
    // A consent has nothing to explain.
    let consent = db
        .store
        .set_reason(
            mine[0].id,
            Scope::All,
            &Reason::new(ReasonCode::Timing, None).unwrap(),
            now(),
        )
        .await
        .unwrap_err();
    assert!(
        consent.to_string().ends_with(
            "is a consent; reasons are recorded for divergences (modify, reject, independent)"
        ),
        "{consent}"
    );
    let unchanged = db.store.match_detail(mine[0].id, Scope::All).await.unwrap();
    assert_eq!(unchanged.reason_code, None);
}
both!(account_isolation, accounts_never_see_each_other);

async fn outcomes_wait_for_the_expiry_close_then_complete(db: &TestDb) {
    import(
        db,
        ImportKind::Recommendations,
        "r1,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,2,1.25,\n\
         r2,100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,160,2025-01-17,1,3.00,\n",
    )
    .await;
    import(
        db,
        ImportKind::Executions,
        "b1,100,2025-01-02T10:00:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,2,1.30,1.30\n",
    )
    .await;
    reconcile(db, "2025-01-02").await;
    reconcile(db, "2025-01-03").await;
    let track = |day: &'static str| async move {
        app::outcomes::run(&db.store, tz(), d(day), None, now())
            .await
            .unwrap()
    };
    track("2025-01-10").await;
    let ms = all_matches(db).await;
    let consent = ms
        .iter()
        .find(|m| m.match_type == MatchType::Consent)
        .unwrap();
    let reject = ms
        .iter()
        .find(|m| m.match_type == MatchType::Reject)
        .unwrap();
    let detail = db.store.match_detail(consent.id, Scope::All).await.unwrap();
    let outs = detail.outcomes.unwrap();
    assert_eq!(outs.len(), 2);
    assert!(outs.iter().all(|o| o.status == OutcomeStatus::Open));
    track("2025-01-17").await;
    let outs = db
        .store
        .match_detail(consent.id, Scope::All)
        .await
        .unwrap()
        .outcomes
        .unwrap();
    assert!(
        outs.iter()
            .all(|o| o.status == OutcomeStatus::AwaitingPrice && o.realized_pnl.is_none())
    );
    import(db, ImportKind::Prices, "AAPL,2025-01-17,155.00\n").await;
    track("2025-01-17").await;
    let outs = db
        .store
        .match_detail(consent.id, Scope::All)
        .await
        .unwrap()
        .outcomes
        .unwrap();
    let actual = outs.iter().find(|o| o.side == Side::Actual).unwrap();
    assert_eq!(actual.status, OutcomeStatus::Expired);
    // 1.30 × 100 × 2 − 1.30 fees
    assert_eq!(actual.realized_pnl.unwrap().to_string(), "258.70");
    let algo = db
        .store
        .match_detail(reject.id, Scope::All)
        .await
        .unwrap()
        .outcomes
        .unwrap();
    assert_eq!(algo.len(), 1);
    assert_eq!(algo[0].side, Side::Algorithm);
    assert_eq!(algo[0].status, OutcomeStatus::Assigned);
    // 3.00 × 100 − (160 − 155) × 100
    assert_eq!(algo[0].realized_pnl.unwrap().to_string(), "-200.00");
    // Final outcomes are not tracked again.
    assert_eq!(track("2025-01-20").await.matches, 0);
}
both!(
    outcomes_complete,
    outcomes_wait_for_the_expiry_close_then_complete
);

async fn a_database_keeps_the_zone_its_days_were_computed_in(db: &TestDb) {
    db.store.bind_zone(tz()).await.unwrap();
    db.store.bind_zone(tz()).await.unwrap();
    let other = db
        .store
        .bind_zone(chrono_tz::America::New_York)
        .await
        .unwrap_err();
    assert!(matches!(other, StoreError::ZoneChanged { .. }));
    assert!(other.to_string().contains("America/Los_Angeles"), "{other}");
}
both!(
    zone_is_bound,
    a_database_keeps_the_zone_its_days_were_computed_in
);

/// A small deterministic generator (xorshift), so a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Random weeks for two accounts, imported in two halves with reconciliation in
/// between (so the second half is a late import), then every day re-run.
async fn random_weeks_keep_every_row_in_exactly_one_match(db: &TestDb) {
    for seed in 1..=6u64 {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed);
        let symbols = ["AAPL", "MSFT", "SPY"];
        let (mut recs, mut execs) = (Vec::new(), Vec::new());
        for i in 0..30 {
            let acct = 1000 * seed + rng.next(2);
            let day = 6 + rng.next(10); // 2025-01-06 .. 2025-01-15
            let sym = symbols[rng.next(3) as usize];
            let strike = 100 + 5 * rng.next(4);
            let exp = ["2025-01-24", "2025-01-31"][rng.next(2) as usize];
            let qty = 1 + rng.next(3);
            let line_rec = format!(
                "s{seed}-r{i},{acct},2025-01-{day:02}T0{}:30:00-08:00,sell_to_open,{sym},put,{strike},{exp},{qty},1.{:02},\n",
                6 + rng.next(3),
                rng.next(100)
            );
            recs.push(line_rec);
            if rng.next(3) > 0 {
                let tday = day + rng.next(3);
                let tstrike = if rng.next(2) == 0 { strike } else { strike + 5 };
                let texp = if rng.next(3) == 0 { "2025-02-07" } else { exp };
                for fill in 0..(1 + rng.next(2)) {
                    execs.push(format!(
                        "s{seed}-e{i}-{fill},{acct},2025-01-{tday:02}T{:02}:00:00-08:00,sell_to_open,{sym},put,{tstrike},{texp},1,1.{:02},0.65\n",
                        9 + rng.next(9),
                        rng.next(100)
                    ));
                }
            }
        }
        let half = execs.len() / 2;
        import(db, ImportKind::Recommendations, &recs.concat()).await;
        import(db, ImportKind::Executions, &execs[..half].concat()).await;
        let days: Vec<String> = (6..=21).map(|d| format!("2025-01-{d:02}")).collect();
        for day in &days {
            reconcile(db, day).await;
        }
        import(db, ImportKind::Executions, &execs[half..].concat()).await;
        for day in &days {
            reconcile(db, day).await;
        }
        let before = all_matches(db).await;
        for day in &days {
            assert_eq!(
                reconcile(db, day).await.written,
                0,
                "seed {seed}: re-running {day} changed rows"
            );
        }
        assert_eq!(all_matches(db).await, before, "seed {seed}");

        let mine: Vec<&MatchRecord> = before
            .iter()
            .filter(|m| m.account.0 / 1000 == seed as i64)
            .collect();
        let mut rec_ids: Vec<&str> = mine
            .iter()
            .filter_map(|m| m.recommendation.as_deref())
            .collect();
        rec_ids.sort_unstable();
        let expected: Vec<String> = (0..recs.len()).map(|i| format!("s{seed}-r{i}")).collect();
        let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
        expected.sort_unstable();
        assert_eq!(
            rec_ids, expected,
            "seed {seed}: every recommendation in exactly one match"
        );
        let mut refs: Vec<&str> = mine
            .iter()
            .flat_map(|m| m.executions.iter().map(String::as_str))
            .collect();
        refs.sort_unstable();
        let all_refs: Vec<String> = execs
            .iter()
            .map(|l| l.split(',').next().unwrap().to_owned())
            .collect();
        let mut all_refs: Vec<&str> = all_refs.iter().map(String::as_str).collect();
        all_refs.sort_unstable();
        assert_eq!(
            refs, all_refs,
            "seed {seed}: every execution in exactly one match"
        );

        // The store, with its late import and re-runs, agrees with the pure
        // reconciliation of everything at once.
        let oracle = pure_reconciliation(&recs.concat(), &execs.concat(), &days);
        let stored: BTreeMap<String, (MatchType, Vec<String>)> = mine
            .iter()
            .map(|m| {
                (
                    identity(m.recommendation.as_deref(), &m.executions),
                    (m.match_type, m.executions.clone()),
                )
            })
            .collect();
        assert_eq!(stored, oracle, "seed {seed}");
    }
}

/// A match's identity independent of database ids: its recommendation, else its fills.
fn identity(rec: Option<&str>, refs: &[String]) -> String {
    rec.map(str::to_owned).unwrap_or_else(|| refs.join("+"))
}

fn pure_reconciliation(
    recs_csv: &str,
    execs_csv: &str,
    days: &[String],
) -> BTreeMap<String, (MatchType, Vec<String>)> {
    use rlhf_bot::domain::Stored;
    use rlhf_bot::domain::reconcile::reconcile_range;
    use rlhf_bot::import::{Record, read_rows};
    // Parses a file the way the import does and numbers its rows 1, 2, … as ids.
    fn parse<T>(
        kind: ImportKind,
        header: &str,
        body: &str,
        pick: fn(Record) -> Option<T>,
    ) -> Vec<Stored<T>> {
        let text = format!("{header}{body}").into_bytes();
        read_rows(kind, ImportFormat::Generic, std::io::Cursor::new(text))
            .unwrap()
            .enumerate()
            .map(|(i, r)| Stored {
                id: i as i64 + 1,
                item: pick(r.result.unwrap()).expect("a row of the file's kind"),
            })
            .collect()
    }
    let recs = parse(
        ImportKind::Recommendations,
        REC_HEADER,
        recs_csv,
        |r| match r {
            Record::Recommendation(item) => Some(item),
            _ => None,
        },
    );
    let execs = parse(
        ImportKind::Executions,
        EXEC_HEADER,
        execs_csv,
        |r| match r {
            Record::Execution(item) => Some(item),
            _ => None,
        },
    );
    let ref_of = |id: i64| execs[(id - 1) as usize].broker_ref.clone();
    let ext_of = |id: i64| recs[(id - 1) as usize].external_id.clone();
    // Reconciliation is per account, as the store runs it.
    let accounts: std::collections::BTreeSet<_> = recs
        .iter()
        .map(|r| r.account)
        .chain(execs.iter().map(|e| e.account))
        .collect();
    let mut out = BTreeMap::new();
    for account in accounts {
        let my_recs: Vec<_> = recs
            .iter()
            .filter(|r| r.account == account)
            .cloned()
            .collect();
        let my_execs: Vec<_> = execs
            .iter()
            .filter(|e| e.account == account)
            .cloned()
            .collect();
        let (first, last) = (d(&days[0]), d(days.last().unwrap()));
        for (_, m) in reconcile_range(first, last, &my_recs, &my_execs, &rules(), tz()) {
            let mut refs: Vec<String> = m.executions.iter().map(|&e| ref_of(e)).collect();
            refs.sort_by_key(|r| execs.iter().position(|e| &e.broker_ref == r));
            let key = identity(m.recommendation.map(ext_of).as_deref(), &refs);
            out.insert(key, (m.match_type, refs));
        }
    }
    out
}
both!(
    random_weeks,
    random_weeks_keep_every_row_in_exactly_one_match
);

/// The import's rows reach the database as one JSON text per statement; the numbers of a
/// recommendation's context must come back bit for bit, and texts with quotes,
/// backslashes and non-ASCII characters unchanged.
async fn context_values_survive_the_store_exactly(db: &TestDb) {
    use sqlx::Row;
    let mut body = String::new();
    let mut expected = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..300 {
        // A fixed pseudo-random sequence: 17 significant digits, tiny and huge exponents.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
        let delta = format!("{:.17}", unit * 2.0 - 1.0);
        let iv = format!("{:e}", unit * 10f64.powi((i % 40) - 20));
        let rank = format!("{}", unit * 100.0);
        let rationale = format!("\"q\" \\ ünï {i} 😀");
        body.push_str(&format!(
            "r{i:03},100,2025-01-02T09:30:00-08:00,sell_to_open,AAPL,put,150,2025-01-17,1,1.25,,{delta},{iv},{rank},\"{}\"\n",
            rationale.replace('"', "\"\"")
        ));
        expected.push((
            delta.parse::<f64>().unwrap(),
            iv.parse::<f64>().unwrap(),
            rank.parse::<f64>().unwrap(),
            rationale,
        ));
    }
    let text = format!(
        "{}delta,iv,iv_rank,rationale\n{body}",
        REC_HEADER.trim_end().to_owned() + ","
    );
    let report = import_reader(
        &db.store,
        ImportKind::Recommendations,
        ImportFormat::Generic,
        std::io::Cursor::new(text.into_bytes()),
        tz(),
        now(),
    )
    .await
    .expect("import runs");
    assert_eq!(report.summary(), "imported 300, duplicates 0, rejected 0");
    let rows = sqlx::query(
        "SELECT delta, iv, iv_rank, rationale FROM recommendations ORDER BY external_id",
    )
    .fetch_all(db.store.pool())
    .await
    .unwrap();
    let got: Vec<(f64, f64, f64, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get(0).unwrap(),
                r.try_get(1).unwrap(),
                r.try_get(2).unwrap(),
                r.try_get(3).unwrap(),
            )
        })
        .collect();
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(
            g.0.to_bits(),
            e.0.to_bits(),
            "delta {} stored as {}",
            e.0,
            g.0
        );
        assert_eq!(g.1.to_bits(), e.1.to_bits(), "iv {} stored as {}", e.1, g.1);
        assert_eq!(
            g.2.to_bits(),
            e.2.to_bits(),
            "iv_rank {} stored as {}",
            e.2,
            g.2
        );
        assert_eq!(g.3, e.3);
    }
    assert_eq!(got.len(), expected.len());
}
both!(
    context_values_exact,
    context_values_survive_the_store_exactly
);

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_a_busy_timeout() {
    use sqlx::Row;
    let db = TestDb::sqlite().await;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(db.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(mode, "wal");
    let timeout: i64 = sqlx::query("PRAGMA busy_timeout")
        .fetch_one(db.store.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(timeout >= 5_000, "{timeout}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_reported_at_once_with_its_cause() {
    let started = std::time::Instant::now();
    let err = rlhf_bot::store::Store::connect("postgres://postgres@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(err.to_string().contains("refused"), "{err}");
}

/// The pool does not ping a connection before every use (a round trip per query), only
/// one idle for a while: connections the server closed while they sat idle (a restart,
/// an administrator) are found and replaced, not handed to a query that then fails.
#[tokio::test]
async fn postgres_connections_closed_while_idle_are_replaced() {
    let Some(db) = TestDb::postgres("postgres_connections_closed_while_idle_are_replaced").await
    else {
        return;
    };
    use sqlx::Row;
    // Two connections in the pool, used and returned; the server's process of each.
    let mut pids = Vec::new();
    {
        let mut a = db.store.pool().acquire().await.unwrap();
        let mut b = db.store.pool().acquire().await.unwrap();
        for conn in [&mut a, &mut b] {
            let row = sqlx::query("SELECT CAST(pg_backend_pid() AS BIGINT)")
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            pids.push(row.try_get::<i64, _>(0).unwrap());
        }
    }
    let admin = rlhf_bot::store::Store::connect(&std::env::var(common::PG_ENV).unwrap())
        .await
        .unwrap();
    for pid in &pids {
        let row = sqlx::query("SELECT pg_terminate_backend(CAST($1 AS INTEGER))")
            .bind(*pid)
            .fetch_one(admin.pool())
            .await
            .unwrap();
        assert!(
            row.try_get::<bool, _>(0).unwrap(),
            "backend {pid} not closed"
        );
    }
    admin.close().await;
    // Idle past the threshold: every query after this finds a live connection.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    for _ in 0..4 {
        sqlx::query("SELECT 1")
            .execute(db.store.pool())
            .await
            .expect("a connection closed by the server was handed out");
    }
}
