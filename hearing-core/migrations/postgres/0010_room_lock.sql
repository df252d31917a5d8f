-- The court may lock a hearing's room: while locked, only participants admitted before (a
-- reconnect, another device) may join. `admitted_before` is set when someone is admitted and
-- never cleared; for hearings held before this column existed it is taken from their logs.
ALTER TABLE hearings ADD COLUMN locked BIGINT NOT NULL DEFAULT 0;
ALTER TABLE participants ADD COLUMN admitted_before BIGINT NOT NULL DEFAULT 0;
UPDATE participants SET admitted_before = 1
WHERE presence = 'admitted' OR EXISTS (
    SELECT 1 FROM hearing_events e
    WHERE e.hearing_id = participants.hearing_id AND e.kind = 'admitted'
      AND e.payload LIKE '%' || participants.id || '%'
);
