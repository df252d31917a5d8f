-- Durable jobs (transcription first), finished transcripts on the case record, and full-text search.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    hearing_id TEXT NOT NULL REFERENCES hearings (id),
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (state, created_at);

CREATE TABLE transcripts (
    id TEXT PRIMARY KEY,
    hearing_id TEXT NOT NULL UNIQUE REFERENCES hearings (id),
    job_id TEXT NOT NULL REFERENCES jobs (id),
    language TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE transcript_segments (
    transcript_id TEXT NOT NULL REFERENCES transcripts (id),
    idx BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    speaker TEXT NOT NULL,
    text TEXT NOT NULL,
    words TEXT NOT NULL,
    PRIMARY KEY (transcript_id, idx)
);

CREATE VIRTUAL TABLE transcript_fts USING fts5 (
    text,
    content = 'transcript_segments',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER transcript_segments_fts AFTER INSERT ON transcript_segments
BEGIN
    INSERT INTO transcript_fts (rowid, text) VALUES (new.rowid, new.text);
END;
