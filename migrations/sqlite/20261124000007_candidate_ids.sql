-- Candidates get ids of their own. Until now a candidate and its audit rows shared
-- algorithm_changes and so one id sequence: candidates were #1, #3, #7, and
-- `candidates show 2` found nothing. The audit trail moves to a table of its own; the
-- id sequence of algorithm_changes is set back to its last candidate, so the next
-- candidate's id follows it (existing ids do not change: buttons already sent with them
-- keep pointing at the same candidate).
CREATE TABLE algorithm_change_audit (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id       INTEGER NOT NULL REFERENCES accounts(id),
    candidate_id     INTEGER NOT NULL REFERENCES algorithm_changes(id),
    pattern_key      TEXT    NOT NULL,
    subject          TEXT    NOT NULL DEFAULT '',
    title            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    actor            TEXT    NOT NULL,
    reason           TEXT,
    evidence         TEXT    NOT NULL DEFAULT '{}',
    proposed_change  TEXT    NOT NULL DEFAULT '{}',
    created_at       TEXT    NOT NULL
);
INSERT INTO algorithm_change_audit (account_id, candidate_id, pattern_key, subject, title,
    state, actor, reason, evidence, proposed_change, created_at)
SELECT account_id, candidate_id, pattern_key, subject, title, state, actor, reason, evidence,
    proposed_change, created_at
FROM algorithm_changes WHERE candidate_id IS NOT NULL ORDER BY id;
DELETE FROM algorithm_changes WHERE candidate_id IS NOT NULL;
CREATE INDEX algorithm_change_audit_candidate ON algorithm_change_audit (candidate_id, id);
UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(id), 0) FROM algorithm_changes)
WHERE name = 'algorithm_changes';
