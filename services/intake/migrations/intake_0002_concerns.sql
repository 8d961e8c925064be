-- Concerns: what routing and stats need in the clear, everything personal sealed with a per-concern data key.
CREATE TABLE IF NOT EXISTS concerns (
    id                   uuid PRIMARY KEY,
    receipt_code         text NOT NULL UNIQUE,
    organisation_id      text NOT NULL,
    department_id        text NOT NULL,
    municipality_code    char(4) NOT NULL,
    subject_key          text NOT NULL,
    categories           text[] NOT NULL,
    severity             text NOT NULL,
    consent              text NOT NULL,
    legal_basis          text,
    observed_at          timestamptz NOT NULL,
    received_at          timestamptz NOT NULL,
    reporter_role        text NOT NULL,
    channel              text NOT NULL,
    source_system        text,
    reporter_client_id   text,
    external_system      text,
    external_id          text,
    request_hash         text NOT NULL,
    has_reporter_contact boolean NOT NULL,
    has_resident_details boolean NOT NULL,
    -- nonce || AES-GCM ciphertext of the description, tenancy, reporter and resident details; NULL once erased.
    sealed               bytea,
    erased_at            timestamptz
);

-- The natural key of concerns from other systems: source system + the id there.
CREATE UNIQUE INDEX IF NOT EXISTS concerns_external_ref
    ON concerns (external_system, external_id) WHERE external_system IS NOT NULL;

-- The wrapped data keys, apart from the data: erasure deletes the row (crypto-shredding).
CREATE TABLE IF NOT EXISTS concern_keys (
    concern_id    uuid PRIMARY KEY REFERENCES concerns (id),
    master_key_id text NOT NULL,
    wrapped_key   bytea NOT NULL
);

-- Idempotency-Key header values per API client, with a keyed hash of the request they first came with.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    client_id       text NOT NULL,
    idempotency_key text NOT NULL,
    request_hash    text NOT NULL,
    concern_id      uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_id, idempotency_key)
);
