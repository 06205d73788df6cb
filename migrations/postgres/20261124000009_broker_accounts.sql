-- Which Telegram chat a broker account's executions belong to. A broker export names
-- the broker's account (or none); a link makes later imports of that account land in
-- its chat without `--account`. No foreign key to accounts: a link may be made before
-- the chat has any data (the import creates the account row when it stores).
CREATE TABLE broker_accounts (
    broker          TEXT    NOT NULL,
    broker_account  TEXT    NOT NULL,
    account_id      BIGINT  NOT NULL,
    linked_at       TEXT    NOT NULL,
    PRIMARY KEY (broker, broker_account)
);
