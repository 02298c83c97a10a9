-- The audit log is append-only: no statement may change a row, and a row may be deleted only
-- once it is older than the retention cut-off the sweep recorded in `maintenance` in the same
-- transaction (moderation/retention.py). The database refuses everything else, so neither a
-- route nor a mistaken statement can rewrite who did what. This guards against the application
-- and against mistakes, not against the database's owner, who can drop a trigger.
-- Staff rows are never deleted (erasure keeps the row under a pseudonym): the ON DELETE SET
-- NULL of audit_log.staff_id would be an update, and is refused with it.

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows cannot be changed');
END;

CREATE TRIGGER audit_log_only_expired_deleted BEFORE DELETE ON audit_log
WHEN OLD.at >= coalesce((SELECT at FROM maintenance WHERE name = 'audit_kept_from'), '')
BEGIN
    SELECT RAISE(ABORT, 'audit_log rows are deleted only by retention, once expired');
END;

-- "Has this person viewed this item lately?" and the audit page's filter by item.
CREATE INDEX audit_log_target ON audit_log(target_type, target_id, id);
