-- As migrations/sqlite/0013_hsds_objects.sql. The directory as HSDS 3.0 writes it (service/storage/hsds_store.py): every object an import
-- brought, with the fields it gave, so the API and the export return it whole. The typed
-- tables of 0003 stay as Koppi's own view of the services, drawn from these.

-- One row per object: `body` is its own fields (nothing nested) as JSON, as imported.
CREATE TABLE IF NOT EXISTS hsds_objects (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    PRIMARY KEY (entity, id)
);

-- Each imported record (a service, an organization, a service at a location, or a lone row of
-- the tabular form), named "entity:id", with a hash of what it held when last imported.
CREATE TABLE IF NOT EXISTS hsds_records (
    record TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    modified_at TEXT NOT NULL
);

-- Which objects each record holds: an object shared by several records (an organization,
-- a location) stays while any of them holds it.
CREATE TABLE IF NOT EXISTS hsds_members (
    record TEXT NOT NULL,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (record, entity, id)
);
CREATE INDEX IF NOT EXISTS hsds_members_object ON hsds_members(entity, id);

-- How objects nest: the object (entity, id) names `target` in its `field` (service_id,
-- link_id, organization_id, ...), whether the file wrote that field or nested the object.
CREATE TABLE IF NOT EXISTS hsds_links (
    record TEXT NOT NULL,
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    field TEXT NOT NULL,
    target TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (record, entity, id, field, target)
);
CREATE INDEX IF NOT EXISTS hsds_links_target ON hsds_links(field, target, entity);
CREATE INDEX IF NOT EXISTS hsds_links_source ON hsds_links(entity, id, field);
