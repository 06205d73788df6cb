-- Facts about the database itself, such as the time zone its stored days were computed in.
CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
);
