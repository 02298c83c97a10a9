-- Statistics follow one question or chat across its events (asked → first answer), and
-- usage events of one kind are read in time order for a period.
CREATE INDEX usage_events_subject ON usage_events(kind, subject_id, at);
