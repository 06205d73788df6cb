-- How many matches each account has per month, match type and underlying, so that the
-- API's lists say how many rows they hold without counting the rows one by one (a list
-- of 100,000 matches is summed from a few hundred rows). The triggers keep it exact:
-- every insert, delete, and change of account, day, type or underlying of a match moves
-- its count in the same statement, whatever code wrote it. A month is `YYYY-MM` (the
-- first seven characters of the match's day).
CREATE TABLE match_counts (
    account_id  INTEGER NOT NULL,
    month       TEXT    NOT NULL,
    match_type  TEXT    NOT NULL,
    underlying  TEXT    NOT NULL,
    n           INTEGER NOT NULL,
    PRIMARY KEY (account_id, month, match_type, underlying)
) WITHOUT ROWID;

INSERT INTO match_counts (account_id, month, match_type, underlying, n)
SELECT account_id, substr(day, 1, 7), match_type, underlying, COUNT(*)
FROM recommendation_execution_matches
GROUP BY account_id, substr(day, 1, 7), match_type, underlying;

CREATE TRIGGER match_counts_insert AFTER INSERT ON recommendation_execution_matches
BEGIN
    INSERT INTO match_counts (account_id, month, match_type, underlying, n)
    VALUES (NEW.account_id, substr(NEW.day, 1, 7), NEW.match_type, NEW.underlying, 1)
    ON CONFLICT (account_id, month, match_type, underlying) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER match_counts_delete AFTER DELETE ON recommendation_execution_matches
BEGIN
    UPDATE match_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
      AND match_type = OLD.match_type AND underlying = OLD.underlying;
    DELETE FROM match_counts
    WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
      AND match_type = OLD.match_type AND underlying = OLD.underlying AND n <= 0;
END;

CREATE TRIGGER match_counts_update
AFTER UPDATE OF account_id, day, match_type, underlying ON recommendation_execution_matches
WHEN OLD.account_id <> NEW.account_id OR substr(OLD.day, 1, 7) <> substr(NEW.day, 1, 7)
  OR OLD.match_type <> NEW.match_type OR OLD.underlying <> NEW.underlying
BEGIN
    UPDATE match_counts SET n = n - 1
    WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
      AND match_type = OLD.match_type AND underlying = OLD.underlying;
    DELETE FROM match_counts
    WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
      AND match_type = OLD.match_type AND underlying = OLD.underlying AND n <= 0;
    INSERT INTO match_counts (account_id, month, match_type, underlying, n)
    VALUES (NEW.account_id, substr(NEW.day, 1, 7), NEW.match_type, NEW.underlying, 1)
    ON CONFLICT (account_id, month, match_type, underlying) DO UPDATE SET n = n + 1;
END;
