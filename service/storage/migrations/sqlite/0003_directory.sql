-- The service directory in Open Referral HSDS 3.0 field names (docs/directory.md), and the
-- referral cards staff attach to answers and chat messages. Ids are the HSDS UUIDs as given.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    email TEXT,
    website TEXT
);

-- `num` is the search index's row id: SQLite keeps an INTEGER PRIMARY KEY across VACUUM.
-- `fingerprint` is a hash of the record as last imported, so an unchanged record is skipped.
CREATE TABLE services (
    num INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    organization_id TEXT REFERENCES organizations(id),
    name TEXT NOT NULL,
    description TEXT,
    url TEXT,
    email TEXT,
    status TEXT NOT NULL
        CHECK (status IN ('active', 'inactive', 'defunct', 'temporarily closed')),
    eligibility_description TEXT,
    minimum_age INTEGER,
    maximum_age INTEGER,
    fingerprint TEXT NOT NULL,
    imported_at TEXT NOT NULL
);
CREATE INDEX services_name ON services(name COLLATE NOCASE, id);

CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    location_type TEXT NOT NULL CHECK (location_type IN ('physical', 'postal', 'virtual')),
    name TEXT,
    latitude REAL,
    longitude REAL
);

CREATE TABLE addresses (
    id TEXT PRIMARY KEY,
    location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    address_1 TEXT,
    city TEXT,
    state_province TEXT,
    postal_code TEXT,
    country TEXT,
    address_type TEXT
);
CREATE INDEX addresses_location ON addresses(location_id, position);

CREATE TABLE service_at_locations (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations(id),
    position INTEGER NOT NULL
);
CREATE INDEX service_at_locations_service ON service_at_locations(service_id, position);

CREATE TABLE phones (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    number TEXT NOT NULL,
    description TEXT
);
CREATE INDEX phones_service ON phones(service_id, position);

CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    freq TEXT,
    byday TEXT,
    opens_at TEXT,
    closes_at TEXT,
    description TEXT
);
CREATE INDEX schedules_service ON schedules(service_id, position);

CREATE TABLE service_areas (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT
);
CREATE INDEX service_areas_service ON service_areas(service_id, position);
CREATE INDEX service_areas_name ON service_areas(name, service_id);

CREATE TABLE languages (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    code TEXT
);
CREATE INDEX languages_service ON languages(service_id, position);

CREATE TABLE taxonomy_terms (
    id TEXT PRIMARY KEY,
    code TEXT,
    name TEXT NOT NULL,
    description TEXT,
    taxonomy TEXT
);

CREATE TABLE attributes (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    taxonomy_term_id TEXT NOT NULL REFERENCES taxonomy_terms(id)
);
CREATE INDEX attributes_service ON attributes(service_id, position);
CREATE INDEX attributes_term ON attributes(taxonomy_term_id, service_id);

-- Swedish and English (or other) versions of text fields; the HSDS fields hold Finnish.
CREATE TABLE directory_translations (
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    language TEXT NOT NULL,
    field TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (entity, entity_id, language, field)
) WITHOUT ROWID;
CREATE INDEX directory_translations_id ON directory_translations(entity_id);

-- Each topic category is a term of the taxonomy 'koppi-category'; the ids are fixed so that
-- directory files written elsewhere can name them (docs/directory.md).
WITH v(slug, id) AS (VALUES
    ('tyonhaku', 'c49ddcd3-79d3-58e0-9fb3-cd970d4396bf'),
    ('opiskelu', 'f4d1faea-8c75-56f6-9e40-7a52b751a3e0'),
    ('raha', '74c6b195-f0ff-5d0f-afe6-f6d7daf7b58b'),
    ('tyopajat', '018433dc-0531-5907-a583-1db47c7e62c4'),
    ('jaksaminen', 'ff5fd4cd-2d44-5185-9c81-4a196cc736d4'),
    ('asuminen', '303a18f1-3a4e-501d-b63b-2bce14517acf'),
    ('muu', '02bbf15c-85f3-548f-b66b-5a28894a0fe3')
)
INSERT INTO taxonomy_terms (id, code, name, description, taxonomy)
SELECT v.id, c.slug, c.name_fi, COALESCE(c.name_en, c.name_fi), 'koppi-category'
FROM v JOIN categories c ON c.slug = v.slug;

ALTER TABLE categories ADD COLUMN term_id TEXT REFERENCES taxonomy_terms(id);
UPDATE categories SET term_id = (
    SELECT t.id FROM taxonomy_terms t
    WHERE t.taxonomy = 'koppi-category' AND t.code = categories.slug
);

-- Search over services in every language they carry, kept in step by storage/directory.py.
CREATE VIRTUAL TABLE service_stems USING fts5(words, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE service_trigrams USING fts5(text, tokenize = 'trigram');

-- The running service looks for new directory imports (also from the command line) by this.
CREATE INDEX audit_log_action ON audit_log(action, id);

-- Services attached to an answer, in the order staff chose them.
CREATE TABLE answer_referrals (
    answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    service_id TEXT NOT NULL REFERENCES services(id),
    PRIMARY KEY (answer_id, position)
) WITHOUT ROWID;

-- A chat message that is a referral card names its service; its text is the service's name.
ALTER TABLE chat_messages ADD COLUMN service_id TEXT REFERENCES services(id);
