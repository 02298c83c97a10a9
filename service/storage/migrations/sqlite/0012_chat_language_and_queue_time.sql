-- The chat's language: the visitor's page language when the chat started (and when they come
-- back), so the lines the service writes into the conversation itself (a transfer) are in the
-- visitor's language, whichever process writes them.
ALTER TABLE chats ADD COLUMN lang TEXT CHECK (lang IS NULL OR lang IN ('fi', 'sv', 'en'));

-- When the chat last joined the queue (its start, or its return to the queue): the offer to
-- send the words as a question follows the time actually waited since then. Chats waiting
-- at the upgrade count from their request, as before.
ALTER TABLE chats ADD COLUMN queued_at TEXT;
UPDATE chats SET queued_at = requested_at WHERE status = 'waiting';
