-- How many matches each account has per month, match type and underlying, so that the
-- API's lists say how many rows they hold without counting the rows one by one (a list
-- of 100,000 matches is summed from a few hundred rows). The trigger keeps it exact:
-- every insert, delete, and change of account, day, type or underlying of a match moves
-- its count in the same statement, whatever code wrote it. A month is `YYYY-MM` (the
-- first seven characters of the match's day).
CREATE TABLE match_counts (
    account_id  BIGINT  NOT NULL,
    month       TEXT    NOT NULL,
    match_type  TEXT    NOT NULL,
    underlying  TEXT    NOT NULL,
    n           BIGINT  NOT NULL,
    PRIMARY KEY (account_id, month, match_type, underlying)
);

INSERT INTO match_counts (account_id, month, match_type, underlying, n)
SELECT account_id, substr(day, 1, 7), match_type, underlying, COUNT(*)
FROM recommendation_execution_matches
GROUP BY account_id, substr(day, 1, 7), match_type, underlying;

CREATE FUNCTION match_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE match_counts SET n = n - 1
        WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
          AND match_type = OLD.match_type AND underlying = OLD.underlying;
        DELETE FROM match_counts
        WHERE account_id = OLD.account_id AND month = substr(OLD.day, 1, 7)
          AND match_type = OLD.match_type AND underlying = OLD.underlying AND n <= 0;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO match_counts (account_id, month, match_type, underlying, n)
        VALUES (NEW.account_id, substr(NEW.day, 1, 7), NEW.match_type, NEW.underlying, 1)
        ON CONFLICT (account_id, month, match_type, underlying)
        DO UPDATE SET n = match_counts.n + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER match_counts_insert_delete
AFTER INSERT OR DELETE ON recommendation_execution_matches
FOR EACH ROW EXECUTE FUNCTION match_counts_track();

CREATE TRIGGER match_counts_update
AFTER UPDATE OF account_id, day, match_type, underlying ON recommendation_execution_matches
FOR EACH ROW
WHEN (OLD.account_id <> NEW.account_id OR substr(OLD.day, 1, 7) <> substr(NEW.day, 1, 7)
      OR OLD.match_type <> NEW.match_type OR OLD.underlying <> NEW.underlying)
EXECUTE FUNCTION match_counts_track();
