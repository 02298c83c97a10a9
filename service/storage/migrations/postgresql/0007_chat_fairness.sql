-- A fair queue: the keyed hash of the client address that started a chat (HMAC under a salt
-- held only in memory and replaced every Helsinki day, never the address itself), kept only
-- while the chat waits. It caps how many chats one address has waiting at once and is cleared
-- when the chat is taken or ends.
ALTER TABLE chats ADD COLUMN waiting_key TEXT;
CREATE INDEX chats_waiting_key ON chats(waiting_key) WHERE waiting_key IS NOT NULL;
