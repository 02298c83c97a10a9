-- Staff sign-in (issue 16): failures counted per (username, client address) and per username,
-- the second factor (TOTP) with its recovery codes, sessions that have passed it, and erasure.

-- A failed sign-in now blocks only the pair (username, client address key) it came from, so a
-- stranger elsewhere cannot lock a counsellor out. `pair_key` is a keyed hash of the normalised
-- name and the day's address key (service/auth.py): neither the name nor an address is kept.
-- The old rows counted per name alone; at worst a running lock starts over.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    pair_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL,
    locked_until TEXT
);
CREATE INDEX login_failures_last_failed ON login_failures(last_failed_at);

-- Failures for a name from every address: past a threshold, attempts from addresses that have
-- themselves failed must wait until `next_attempt_at` (a growing, capped delay).
CREATE TABLE login_name_failures (
    name_hash TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL,
    next_attempt_at TEXT
);
CREATE INDEX login_name_failures_last_failed ON login_name_failures(last_failed_at);

-- One TOTP secret per member, encrypted with a key derived from the service's secret
-- (service/second_factor.py). Unconfirmed until the member has typed a code from it.
-- `last_step` is the newest 30-second step accepted: a code is never accepted twice.
CREATE TABLE staff_second_factors (
    staff_id INTEGER PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    last_step INTEGER NOT NULL DEFAULT 0
);

-- Single-use recovery codes, only as keyed hashes.
CREATE TABLE staff_recovery_codes (
    id INTEGER PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at TEXT,
    UNIQUE (staff_id, code_hash)
);

-- 1 when the session was opened with the second factor (or enrolled it); a session without it
-- reaches only the enrolment page while a second factor is required.
ALTER TABLE staff_sessions ADD COLUMN second_factor INTEGER NOT NULL DEFAULT 0;

-- When a departed member's name and username were replaced by a pseudonym.
ALTER TABLE staff ADD COLUMN erased_at TEXT;
