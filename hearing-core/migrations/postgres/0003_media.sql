-- Closed media files (recording segments, per-participant tracks) on the case record; each is
-- also announced, with its SHA-256, as a MediaClosed event in the hearing's log.
CREATE TABLE media_files (
    hearing_id TEXT NOT NULL REFERENCES hearings (id),
    file TEXT NOT NULL,
    kind TEXT NOT NULL,
    participant_id TEXT,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (hearing_id, file)
);
