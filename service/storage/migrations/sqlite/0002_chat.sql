-- Live chat: opening hours, staff presence and capacity, visitors, chats, messages, canned
-- responses and the chat settings coordinators change. Times are UTC text; opening hours are
-- minutes of the day in Europe/Helsinki time.

-- The role a topic's chats go to first; NULL means whoever is least loaded.
ALTER TABLE categories ADD COLUMN chat_role TEXT
    CHECK (chat_role IS NULL OR chat_role IN ('counsellor', 'adviser'));
UPDATE categories SET chat_role = 'adviser' WHERE slug IN ('tyonhaku', 'opiskelu', 'tyopajat');
UPDATE categories SET chat_role = 'counsellor' WHERE slug IN ('raha', 'jaksaminen', 'asuminen');

ALTER TABLE staff ADD COLUMN chat_capacity INTEGER NOT NULL DEFAULT 2
    CHECK (chat_capacity BETWEEN 0 AND 20);

-- Weekly hours: weekday 0 = Monday. Several ranges a day are allowed.
CREATE TABLE opening_hours (
    id INTEGER PRIMARY KEY,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens INTEGER NOT NULL CHECK (opens BETWEEN 0 AND 1439),
    closes INTEGER NOT NULL CHECK (closes BETWEEN 1 AND 1440 AND closes > opens)
);

-- A dated exception replaces that day's weekly hours; a row without times closes the day.
CREATE TABLE opening_exceptions (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,
    opens INTEGER CHECK (opens BETWEEN 0 AND 1439),
    closes INTEGER CHECK (closes BETWEEN 1 AND 1440),
    note TEXT,
    CHECK ((opens IS NULL AND closes IS NULL) OR (opens IS NOT NULL AND closes > opens))
);
CREATE INDEX opening_exceptions_day ON opening_exceptions(day);

-- One row per staff member who has ever opened the chat console. `connections` counts live
-- sockets; `away_since` is set when the last one closes (and for everyone at start-up).
CREATE TABLE staff_presence (
    staff_id INTEGER PRIMARY KEY REFERENCES staff(id) ON DELETE CASCADE,
    available INTEGER NOT NULL DEFAULT 0,
    connections INTEGER NOT NULL DEFAULT 0,
    away_since TEXT,
    last_assigned_at TEXT
);

-- An anonymous visitor is only a hashed random token.
CREATE TABLE visitors (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    blocked_until TEXT,
    block_reason TEXT
);

CREATE TABLE chats (
    id INTEGER PRIMARY KEY,
    visitor_id INTEGER NOT NULL REFERENCES visitors(id) ON DELETE CASCADE,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'active', 'ended')),
    start_client_id TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    -- Chats handed back by an absent staff member go to the front of the queue.
    returned INTEGER NOT NULL DEFAULT 0,
    wanted_role TEXT CHECK (wanted_role IS NULL OR wanted_role IN ('counsellor', 'adviser')),
    assigned_to INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    assigned_at TEXT,
    first_assigned_at TEXT,
    first_reply_at TEXT,
    visitor_away_since TEXT,
    ended_at TEXT,
    ended_by TEXT CHECK (ended_by IS NULL OR ended_by IN ('visitor', 'staff', 'timeout')),
    handled_by INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    wrap_category TEXT,
    outcome TEXT CHECK (outcome IS NULL OR outcome IN ('advice', 'referred', 'question', 'no_contact')),
    rating INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5),
    helped INTEGER,
    rated_at TEXT,
    question_id INTEGER REFERENCES questions(id) ON DELETE SET NULL,
    UNIQUE (visitor_id, start_client_id)
);
CREATE INDEX chats_waiting ON chats(status, returned DESC, requested_at, id);
CREATE INDEX chats_assigned ON chats(assigned_to, status);
CREATE INDEX chats_visitor ON chats(visitor_id, id DESC);
CREATE INDEX chats_ended ON chats(ended_at);

-- AUTOINCREMENT: ids only ever grow, even after deletions, so `resume after id` is safe.
CREATE TABLE chat_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    sender TEXT NOT NULL CHECK (sender IN ('visitor', 'staff', 'system')),
    staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    client_id TEXT,
    UNIQUE (chat_id, sender, client_id)
);
CREATE INDEX chat_messages_chat ON chat_messages(chat_id, id);

-- Staff-only notes, written when a chat is transferred.
CREATE TABLE chat_notes (
    id INTEGER PRIMARY KEY,
    chat_id INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    text TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX chat_notes_chat ON chat_notes(chat_id, id);

CREATE TABLE canned_responses (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);
INSERT INTO canned_responses (title, body, position) VALUES
    ('Tervehdys', 'Hei, kiva kun kirjoitit! Olen täällä ja luen viestisi. Kerro rauhassa lisää.', 1),
    ('Hetki', 'Hetki vain, selvitän asiaa. Palaan pian.', 2),
    ('Lopetus', 'Kiitos keskustelusta! Voit tulla juttelemaan uudelleen milloin tahansa chatin ollessa auki.', 3);

CREATE TABLE chat_settings (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO chat_settings (name, value) VALUES
    ('offer_question_after_s', 900),
    ('auto_assign', 1);
