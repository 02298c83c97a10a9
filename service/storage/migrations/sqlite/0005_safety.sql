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

-- A starting list, so a new install protects from day one; coordinators change it on
-- /coordinator/watched-words. Phrases are stored as the admin form stores them: NFC, lower
-- case, one space between words; a trailing * matches every word beginning so.
-- crisis: words young people use about suicide and self-harm, in everyday and spoken forms;
--   a false alarm only shows crisis help and puts the item first, a miss costs far more.
-- review: drugs and violence, held for a staff decision before anything is published.
-- block: empty on purpose. Refusing text outright could turn away someone describing what
--   happened to them; coordinators add block words for the spam or abuse they actually see.
INSERT INTO watched_words (phrase, lang, action, created_at)
SELECT column1, column2, column3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM (VALUES
    ('itsemurha', 'fi', 'crisis'),
    ('itsetuho*', 'fi', 'crisis'),
    ('tappaa itseni', 'fi', 'crisis'),
    ('tapan itseni', 'fi', 'crisis'),
    ('tapan itteni', 'fi', 'crisis'),
    ('tappaa itteni', 'fi', 'crisis'),
    ('tappaisin itseni', 'fi', 'crisis'),
    ('satuttaa itseä*', 'fi', 'crisis'),
    ('haluan kuolla', 'fi', 'crisis'),
    ('haluun kuolla', 'fi', 'crisis'),
    ('en halua elää', 'fi', 'crisis'),
    ('en jaksa elää', 'fi', 'crisis'),
    ('päättää päiväni', 'fi', 'crisis'),
    ('päätän päiväni', 'fi', 'crisis'),
    ('satutan itseäni', 'fi', 'crisis'),
    ('viiltel*', 'fi', 'crisis'),
    ('viillel*', 'fi', 'crisis'),
    ('självmord*', 'sv', 'crisis'),
    ('ta livet av mig', 'sv', 'crisis'),
    ('vill dö', 'sv', 'crisis'),
    ('vill inte leva', 'sv', 'crisis'),
    ('döda mig själv', 'sv', 'crisis'),
    ('skada mig själv', 'sv', 'crisis'),
    ('självskad*', 'sv', 'crisis'),
    ('suicid*', 'en', 'crisis'),
    ('kill myself', 'en', 'crisis'),
    ('want to die', 'en', 'crisis'),
    ('end my life', 'en', 'crisis'),
    ('self-harm', 'en', 'crisis'),
    ('self harm', 'en', 'crisis'),
    ('hurt myself', 'en', 'crisis'),
    ('huume*', 'fi', 'review'),
    ('väkivalta*', 'fi', 'review'),
    ('knark*', 'sv', 'review'),
    ('narkotika', 'sv', 'review'),
    ('våld*', 'sv', 'review'),
    ('drug*', 'en', 'review'),
    ('violen*', 'en', 'review')
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
