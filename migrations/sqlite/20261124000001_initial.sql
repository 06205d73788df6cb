-- rlhf-bot schema, SQLite dialect. Money: INTEGER ten-thousandths of a dollar.
-- Timestamps: TEXT RFC 3339 in UTC with milliseconds ('2025-01-02T17:35:00.000Z').
-- Days: TEXT 'YYYY-MM-DD' in the schedule time zone.

CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,          -- the Telegram chat id
    name        TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    settings    TEXT    NOT NULL DEFAULT '{}'
);

CREATE TABLE recommendations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts(id),
    external_id        TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    created_day        TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    underlying         TEXT    NOT NULL,
    option_right       TEXT    NOT NULL,
    strike             INTEGER NOT NULL,
    expiration         TEXT    NOT NULL,
    contracts          INTEGER NOT NULL,
    premium            INTEGER NOT NULL,
    position           TEXT,                  -- OCC symbol of the contract being closed
    underlying_price   INTEGER,
    delta              REAL,
    iv                 REAL,
    iv_rank            REAL,
    earnings_date      TEXT,
    algorithm_version  TEXT,
    rationale          TEXT,
    fingerprint        TEXT    NOT NULL,
    imported_at        TEXT    NOT NULL,
    UNIQUE (account_id, external_id)
);
CREATE INDEX recommendations_day ON recommendations (created_day, account_id);

CREATE TABLE executions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    broker        TEXT    NOT NULL,
    broker_ref    TEXT    NOT NULL,
    executed_at   TEXT    NOT NULL,
    exec_day      TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    underlying    TEXT    NOT NULL,
    option_right  TEXT    NOT NULL,
    strike        INTEGER NOT NULL,
    expiration    TEXT    NOT NULL,
    contracts     INTEGER NOT NULL,
    price         INTEGER NOT NULL,
    fees          INTEGER NOT NULL,
    fingerprint   TEXT    NOT NULL,
    imported_at   TEXT    NOT NULL,
    UNIQUE (account_id, broker, broker_ref)
);
CREATE INDEX executions_day ON executions (exec_day, account_id);
CREATE INDEX executions_contract ON executions (account_id, underlying, expiration);

CREATE TABLE prices (
    symbol      TEXT    NOT NULL,
    price_date  TEXT    NOT NULL,
    close       INTEGER NOT NULL,
    imported_at TEXT    NOT NULL,
    PRIMARY KEY (symbol, price_date)
);

CREATE TABLE recommendation_execution_matches (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id         INTEGER NOT NULL REFERENCES accounts(id),
    match_key          TEXT    NOT NULL,
    day                TEXT    NOT NULL,
    match_type         TEXT    NOT NULL,
    recommendation_id  INTEGER REFERENCES recommendations(id),
    underlying         TEXT    NOT NULL,
    strike_diff        INTEGER,
    dte_diff           INTEGER,
    contracts_diff     INTEGER,
    premium_diff       INTEGER,
    modifications      TEXT    NOT NULL DEFAULT '',
    reason_code        TEXT,
    reason_text        TEXT,
    reason_at          TEXT,
    reconciled_at      TEXT    NOT NULL,
    UNIQUE (account_id, match_key)
);
CREATE INDEX matches_day ON recommendation_execution_matches (account_id, day);
CREATE INDEX matches_rec ON recommendation_execution_matches (recommendation_id);

CREATE TABLE match_executions (
    match_id      INTEGER NOT NULL REFERENCES recommendation_execution_matches(id) ON DELETE CASCADE,
    execution_id  INTEGER NOT NULL PRIMARY KEY REFERENCES executions(id),
    account_id    INTEGER NOT NULL
);
CREATE INDEX match_executions_match ON match_executions (match_id);

-- Reasons the trader recorded, keyed by the stable match key, so that no re-run can
-- lose one even when the match row itself is rebuilt.
CREATE TABLE match_reasons (
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    match_key    TEXT    NOT NULL,
    reason_code  TEXT    NOT NULL,
    reason_text  TEXT,
    reason_at    TEXT    NOT NULL,
    PRIMARY KEY (account_id, match_key)
);

CREATE TABLE reconciled_days (
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    day            TEXT    NOT NULL,
    reconciled_at  TEXT    NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE position_outcomes (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id           INTEGER NOT NULL REFERENCES accounts(id),
    match_id             INTEGER NOT NULL REFERENCES recommendation_execution_matches(id) ON DELETE CASCADE,
    side                 TEXT    NOT NULL,
    basis                TEXT    NOT NULL,  -- 'position' (opened here) or 'decision' (a close)
    status               TEXT    NOT NULL,
    contracts            INTEGER NOT NULL,
    opened_day           TEXT    NOT NULL,
    closed_day           TEXT,
    premium              INTEGER NOT NULL,
    close_cost           INTEGER,
    fees                 INTEGER NOT NULL,
    realized_pnl         INTEGER,
    days_held            INTEGER,
    return_on_capital_bp INTEGER,
    updated_at           TEXT    NOT NULL,
    UNIQUE (match_id, side)
);
CREATE INDEX outcomes_account ON position_outcomes (account_id, status);

CREATE TABLE weekly_learning_summaries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    year           INTEGER NOT NULL,
    week           INTEGER NOT NULL,
    counts         TEXT    NOT NULL DEFAULT '{}',
    total          INTEGER NOT NULL DEFAULT 0,
    pnl            INTEGER NOT NULL DEFAULT 0,
    patterns       TEXT    NOT NULL DEFAULT '[]',
    candidates     TEXT    NOT NULL DEFAULT '[]',
    text           TEXT    NOT NULL DEFAULT '',
    review_status  TEXT    NOT NULL DEFAULT 'pending',
    review_notes   TEXT,
    generated_at   TEXT    NOT NULL,
    UNIQUE (account_id, year, week)
);

CREATE TABLE algorithm_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    candidate_id  INTEGER REFERENCES algorithm_changes(id),  -- NULL: a candidate; else an audit row of that candidate
    pattern_key   TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    actor         TEXT    NOT NULL,
    reason        TEXT,
    evidence      TEXT    NOT NULL DEFAULT '{}',
    created_at    TEXT    NOT NULL
);
CREATE INDEX algorithm_changes_account ON algorithm_changes (account_id, candidate_id);

CREATE TABLE job_runs (
    job          TEXT    NOT NULL,
    slot         TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT,
    finished_at  TEXT,
    error        TEXT,
    PRIMARY KEY (job, slot)
);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    dedupe_key  TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    send_after  TEXT    NOT NULL,
    sent_at     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (sent_at, account_id, id);
