-- The underlying as the import wrote it (`BRKB`, `BRK/B`, `SPXW`), kept for display beside
-- the canonical name in `underlying` (`BRK.B`, `SPX`) that every comparison uses. NULL when
-- it was written in the canonical form. Rows stored before this migration keep the
-- spelling they were stored with in `underlying`.
ALTER TABLE recommendations ADD COLUMN underlying_as_written TEXT;
ALTER TABLE executions ADD COLUMN underlying_as_written TEXT;
