-- Which stored executions had their open or close inferred from the running position
-- (Webull, E*TRADE's bare `Bought`/`Sold`): the ref of the fill each is a leg of (a fill
-- crossing zero is stored as two legs, `REF/close` and `REF/open`); NULL when the export
-- said open or close. An import of an earlier date range infers them again.
ALTER TABLE executions ADD COLUMN inferred_fill TEXT;

-- Rows stored before: an inferred fill's ref is made of its content with the side it
-- was (`…/buy/…`, `…/sell/…`), where a row whose export gave the action names it.
UPDATE executions SET inferred_fill = CASE
        WHEN broker_ref LIKE '%/open' THEN substr(broker_ref, 1, length(broker_ref) - 5)
        WHEN broker_ref LIKE '%/close' THEN substr(broker_ref, 1, length(broker_ref) - 6)
        ELSE broker_ref
    END
WHERE broker IN ('webull', 'etrade')
  AND (broker_ref LIKE '%/buy/%' OR broker_ref LIKE '%/sell/%');
