-- The audit log is append-only: no statement may change a row, and a row may be deleted only
-- once it is older than the retention cut-off the sweep recorded in `maintenance` in the same
-- transaction (moderation/retention.py). The database refuses everything else, so neither a
-- route nor a mistaken statement can rewrite who did what. This guards against the application
-- and against mistakes, not against the database's owner, who can drop a trigger.
-- Staff rows are never deleted (erasure keeps the row under a pseudonym): the ON DELETE SET
-- NULL of audit_log.staff_id would be an update, and is refused with it.

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.at < coalesce(
        (SELECT at FROM maintenance WHERE name = 'audit_kept_from'), ''
    ) THEN
        RETURN OLD;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_log rows are deleted only by retention, once expired';
    END IF;
    RAISE EXCEPTION 'audit_log rows cannot be changed';
END
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- TRUNCATE skips row triggers. An empty log may be truncated: port-db empties the freshly
-- migrated target's tables before it copies the source's rows in.
CREATE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_log) THEN
        RAISE EXCEPTION 'audit_log rows are deleted only by retention, once expired';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate();

-- "Has this person viewed this item lately?" and the audit page's filter by item.
CREATE INDEX audit_log_target ON audit_log(target_type, target_id, id);
