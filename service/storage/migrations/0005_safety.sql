-- Safety: watched words, urgent and held items, and the retention sweep's bookkeeping.

-- Words and phrases coordinators watch for, per language. Matching is by word stems
-- (moderation/filters/watched_words.py), so one entry covers the inflected forms.
CREATE TABLE watched_words (
    id INTEGER PRIMARY KEY,
    phrase TEXT NOT NULL,
    lang TEXT NOT NULL CHECK (lang IN ('fi', 'sv', 'en')),
    action TEXT NOT NULL CHECK (action IN ('block', 'review', 'crisis')),
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    UNIQUE (lang, phrase)
);

-- A crisis word makes an item urgent: first in the staff queue. `flags` is JSON for staff
-- only: the watched words that matched ([{"phrase": …, "action": …}]), never shown publicly.
ALTER TABLE questions ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE questions ADD COLUMN flags TEXT;
DROP INDEX questions_queue;
CREATE INDEX questions_queue ON questions(status, urgent DESC, asked_at);

ALTER TABLE chats ADD COLUMN urgent INTEGER NOT NULL DEFAULT 0;
DROP INDEX chats_waiting;
CREATE INDEX chats_waiting ON chats(status, urgent DESC, returned DESC, requested_at, id);

-- Retention finds what has expired by these times.
CREATE INDEX questions_answered_at ON questions(status, answered_at);
CREATE INDEX questions_rejected_at ON questions(status, rejected_at);

-- Named times the upkeep keeps across restarts (the last retention sweep, a pending VACUUM).
CREATE TABLE maintenance (
    name TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
