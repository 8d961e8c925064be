-- Who created or revoked an API client through intake's /v1/clients routes (an admin person or admin client),
-- and when. The client's record itself lives on the api-clients topic; this is the audit of the changes. A row is
-- written before the record is published, so no change made here goes unaudited (a publish that failed leaves a
-- row naming a client that never came to exist).
CREATE TABLE IF NOT EXISTS api_client_changes (
    id          bigserial PRIMARY KEY,
    client_id   text NOT NULL,
    action      text NOT NULL CHECK (action IN ('created', 'revoked')),
    client_role text NOT NULL,
    actor       text NOT NULL,
    actor_role  text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS api_client_changes_client ON api_client_changes (client_id, id);
