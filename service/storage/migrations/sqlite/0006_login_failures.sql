-- Failed sign-ins are counted by a keyed hash of the normalised username (service/auth.py),
-- never the name itself: people type passwords into the username box. The old table kept every
-- attempted name in clear, so it goes with its rows; at worst a running lock starts over.
DROP TABLE login_failures;

CREATE TABLE login_failures (
    name_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL,
    locked_until TEXT
);

-- Rows older than the lock window are deleted at each failure written.
CREATE INDEX login_failures_last_failed ON login_failures(last_failed_at);
