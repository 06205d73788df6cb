-- HTTP API tokens. The secret is never stored: only its SHA-256 (hex). A token belongs
-- to one account, or to every account when account_id is NULL (an algorithm feeding
-- several); read_only is 0 or 1; a revoked token keeps its row for the record.
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id  INTEGER REFERENCES accounts(id),
    name        TEXT    NOT NULL DEFAULT '',
    read_only   INTEGER NOT NULL DEFAULT 0,
    secret_hash TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    revoked_at  TEXT
);

-- The API's lists say how many rows they hold. A list filtered by match type or by
-- underlying (within an account and a range of days) is counted from these indexes
-- instead of row by row.
CREATE INDEX matches_type_day ON recommendation_execution_matches (account_id, match_type, day);
CREATE INDEX matches_underlying_day ON recommendation_execution_matches (account_id, underlying, day);
