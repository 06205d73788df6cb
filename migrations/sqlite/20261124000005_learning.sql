-- Candidates: what they would change, their subject, validation, and the evidence when
-- they were last closed (to tell whether evidence "grew materially" later).
ALTER TABLE algorithm_changes ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE algorithm_changes ADD COLUMN proposed_change TEXT NOT NULL DEFAULT '{}';
ALTER TABLE algorithm_changes ADD COLUMN updated_at TEXT;
ALTER TABLE algorithm_changes ADD COLUMN evidence_at_close TEXT;
ALTER TABLE algorithm_changes ADD COLUMN validation_from TEXT;
ALTER TABLE algorithm_changes ADD COLUMN report TEXT;
-- One candidate per account, pattern and subject: the same pattern updates it.
CREATE UNIQUE INDEX algorithm_changes_pattern
    ON algorithm_changes (account_id, pattern_key, subject) WHERE candidate_id IS NULL;
CREATE INDEX algorithm_changes_audit ON algorithm_changes (candidate_id);

ALTER TABLE weekly_learning_summaries ADD COLUMN reviewed_at TEXT;
CREATE INDEX outcomes_closed ON position_outcomes (closed_day, account_id);
