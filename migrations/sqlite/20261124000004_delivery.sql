-- Delivery: a message the Bot API refused for good (a 400) is parked with its error
-- instead of blocking its chat; NULL while it may still be sent.
ALTER TABLE outbox ADD COLUMN parked_at TEXT;
-- Every scheduler tick reads the ledger's recent slots of all jobs (slot >= a day).
CREATE INDEX job_runs_slot ON job_runs (slot);
