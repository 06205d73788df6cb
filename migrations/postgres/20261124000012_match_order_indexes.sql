-- Matches are listed in (day, id) order: the API's pages (keyed by the last day and id)
-- and a day's reload in reconciliation. SQLite ends every index with the rowid (`id`),
-- so its (account_id, day) index is already in that order; a Postgres index is not, and
-- a page deep in one account's list sorted every row from the cursor on (100 ms at
-- 100,000 matches in one account). The indexes end in `id` here, and a day's matches
-- of all accounts (`WHERE day = …`, no account) get an index of their own instead of a
-- scan of the table.
DROP INDEX IF EXISTS matches_day;
DROP INDEX IF EXISTS matches_type_day;
DROP INDEX IF EXISTS matches_underlying_day;
CREATE INDEX matches_day ON recommendation_execution_matches (account_id, day, id);
CREATE INDEX matches_type_day ON recommendation_execution_matches (account_id, match_type, day, id);
CREATE INDEX matches_underlying_day ON recommendation_execution_matches (account_id, underlying, day, id);
CREATE INDEX matches_by_day ON recommendation_execution_matches (day, id);
