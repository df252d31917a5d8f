-- Which node runs a hearing's room (its media: WebRTC endpoints, mixing, recording). One row per
-- hearing; a node renews its lease while the room runs, and another node may take the hearing
-- over once the lease has expired (the node died), logging the gap.
CREATE TABLE media_leases (
    hearing_id TEXT PRIMARY KEY REFERENCES hearings (id),
    node TEXT NOT NULL,
    address TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL
);
