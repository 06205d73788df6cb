-- A day's matches of all accounts (`WHERE day = …`, no account: a day's reload in
-- reconciliation, the API's list for a token of every account) had only the
-- (account_id, day) index, so SQLite read every match ever stored to find one day's.
-- This index ends in the rowid (`id`), so it is also in the lists' (day, id) order.
CREATE INDEX matches_by_day ON recommendation_execution_matches (day);
