-- Cases, hearings, participants, staff, sessions and the hash-chained hearing event log.
-- Times are milliseconds since the Unix epoch (UTC); flags are 0/1 integers; ids are UUID text.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    case_number TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    visibility TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cases_created ON cases (created_at, id);

CREATE TABLE hearings (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases (id),
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    presiding_judge_id TEXT NOT NULL REFERENCES users (id),
    presiding_participant_id TEXT NOT NULL,
    opened_at BIGINT,
    last_seq BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX hearings_case ON hearings (case_id, starts_at);
CREATE INDEX hearings_judge ON hearings (presiding_judge_id, starts_at);
CREATE INDEX hearings_starts ON hearings (starts_at, id);

CREATE TABLE participants (
    id TEXT PRIMARY KEY,
    hearing_id TEXT NOT NULL REFERENCES hearings (id),
    position BIGINT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    presence TEXT NOT NULL,
    muted BIGINT NOT NULL,
    court_muted BIGINT NOT NULL,
    user_id TEXT REFERENCES users (id),
    invite_code_hash TEXT UNIQUE,
    redeemed_at BIGINT
);
CREATE INDEX participants_hearing ON participants (hearing_id, position);
CREATE INDEX participants_user ON participants (user_id);

-- Bearer tokens, stored as SHA-256 hashes. A staff session has user_id; a participant session
-- is bound to one hearing, participant and role.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT REFERENCES users (id),
    participant_id TEXT REFERENCES participants (id),
    hearing_id TEXT REFERENCES hearings (id),
    role TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX sessions_participant ON sessions (participant_id);

CREATE TABLE hearing_events (
    hearing_id TEXT NOT NULL REFERENCES hearings (id),
    seq BIGINT NOT NULL,
    clock_ms BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_participant_id TEXT NOT NULL,
    actor_user_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (hearing_id, seq)
);

-- The log is append-only: the application never updates or deletes an event. (Anyone with
-- direct database access can drop these triggers; the hash chain is what detects that.)
CREATE TRIGGER hearing_events_no_update BEFORE UPDATE ON hearing_events
BEGIN
    SELECT RAISE(ABORT, 'hearing_events is append-only');
END;
CREATE TRIGGER hearing_events_no_delete BEFORE DELETE ON hearing_events
BEGIN
    SELECT RAISE(ABORT, 'hearing_events is append-only');
END;

-- Denied calls that concern no hearing (reading a case, listing), for the security audit.
CREATE TABLE access_denials (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
