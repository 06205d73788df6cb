-- The executions whose open or close was inferred, by chat and time: a generic file
-- (every row says its action) asks once which of the chats it touched hold such rows at
-- or after its first row there, to infer them again; most chats hold none.
CREATE INDEX executions_inferred ON executions (account_id, executed_at) WHERE inferred_fill IS NOT NULL;
