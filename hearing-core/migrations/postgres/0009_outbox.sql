-- Writes into the record that must happen after a media file closes (its hash into the log,
-- the transcription job once the room stops), kept here first and deleted in the same
-- transaction that does them, so a failed write is retried until it succeeds, across restarts.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    hearing_id TEXT NOT NULL REFERENCES hearings (id),
    payload TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at);
