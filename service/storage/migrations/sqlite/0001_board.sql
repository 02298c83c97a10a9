-- Categories, questions and answers, staff and sessions, usage events and the audit log.
-- Times are UTC text 'YYYY-MM-DDTHH:MM:SSZ'.

CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name_fi TEXT NOT NULL,
    name_en TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);

INSERT INTO categories (slug, name_fi, name_en, position) VALUES
    ('tyonhaku', 'Työnhaku', 'Job search', 1),
    ('opiskelu', 'Opiskelu ja koulutus', 'Studies and training', 2),
    ('raha', 'Raha ja etuudet', 'Money and benefits', 3),
    ('tyopajat', 'Työpajat ja kuntouttava työtoiminta', 'Workshops and rehabilitative work activity', 4),
    ('jaksaminen', 'Jaksaminen ja arki', 'Coping and everyday life', 5),
    ('asuminen', 'Asuminen', 'Housing', 6),
    ('muu', 'Muu asia', 'Something else', 7);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('counsellor', 'adviser', 'coordinator', 'admin')),
    first_name TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);

-- Failed sign-ins are counted per username, existing or not, so a lock reveals nothing.
CREATE TABLE login_failures (
    username TEXT PRIMARY KEY COLLATE NOCASE,
    failures INTEGER NOT NULL,
    last_failed_at TEXT NOT NULL,
    locked_until TEXT
);

-- The cookie carries a random token; only its SHA-256 is kept.
CREATE TABLE staff_sessions (
    token_hash TEXT PRIMARY KEY,
    staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions(staff_id);

CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    title TEXT,
    body TEXT NOT NULL,
    publish_allowed INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'answered', 'published', 'rejected')),
    code_hash TEXT NOT NULL UNIQUE,
    asked_at TEXT NOT NULL,
    edited INTEGER NOT NULL DEFAULT 0,
    claimed_by INTEGER REFERENCES staff(id),
    claimed_at TEXT,
    answered_at TEXT,
    published_at TEXT,
    rejected_at TEXT,
    reject_reason TEXT
);
CREATE INDEX questions_queue ON questions(status, asked_at);
CREATE INDEX questions_board ON questions(status, published_at DESC, id DESC);
CREATE INDEX questions_board_category ON questions(category_id, status, published_at DESC, id DESC);

CREATE TABLE answers (
    id INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES questions(id) ON DELETE CASCADE,
    staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    role TEXT NOT NULL,
    first_name TEXT,
    body TEXT NOT NULL,
    answered_at TEXT NOT NULL
);
CREATE INDEX answers_question ON answers(question_id, id);

-- Search over published questions: Snowball-stemmed words, and trigrams for parts of compounds.
-- Both are kept in step by storage/search.py; rowid is the question id.
CREATE VIRTUAL TABLE question_stems USING fts5(words, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE question_trigrams USING fts5(text, tokenize = 'trigram');

-- Append-only; never holds text a person wrote.
CREATE TABLE usage_events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT,
    channel TEXT,
    subject_id INTEGER,
    staff_id INTEGER,
    seconds REAL,
    detail TEXT
);
CREATE INDEX usage_events_kind_at ON usage_events(kind, at);
CREATE INDEX usage_events_at ON usage_events(at);

-- Who did what to which item; never the asker's words.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    staff_id INTEGER REFERENCES staff(id) ON DELETE SET NULL,
    action TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id INTEGER,
    detail TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
