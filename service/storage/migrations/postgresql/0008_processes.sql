-- Several processes share the database: each beats in `processes` while it runs, and counts its
-- own live sockets in `live_sockets`. A process that restarts forgets only its own sockets; one
-- whose beat stops (killed) is noticed by the leader, which removes its rows and starts the
-- absence of whoever had no socket left elsewhere at its last beat.
CREATE TABLE processes (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    beat_at TEXT NOT NULL
);

-- `kind` 'staff' counts a staff member's console sockets, 'visitor' a visitor's chat sockets.
CREATE TABLE live_sockets (
    process_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('staff', 'visitor')),
    who BIGINT NOT NULL,
    sockets INTEGER NOT NULL,
    PRIMARY KEY (process_id, kind, who)
);
CREATE INDEX live_sockets_who ON live_sockets (kind, who);
