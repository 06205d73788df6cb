-- The bot's conversation state per chat (e.g. waiting for the text of an `other`
-- reason), as JSON, so that a restart does not forget what the trader was asked.
CREATE TABLE bot_dialogues (
    chat_id     INTEGER PRIMARY KEY,
    state       TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
