-- Reference data: organisations, their departments (afdelinger) and who serves each department.
-- Loaded from services/intake/reference/*.yaml at start; forms and integrations read it via GET /v1/departments.
CREATE TABLE IF NOT EXISTS organisations (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE IF NOT EXISTS departments (
    id                text PRIMARY KEY,
    organisation_id   text NOT NULL REFERENCES organisations (id),
    name              text NOT NULL,
    municipality_code char(4) NOT NULL CHECK (municipality_code ~ '^[0-9]{4}$'),
    tenancies         integer NOT NULL CHECK (tenancies >= 0)
);

-- Consultants (boligsociale konsulenter) and volunteer associations registered for a department.
CREATE TABLE IF NOT EXISTS department_recipients (
    department_id text NOT NULL REFERENCES departments (id),
    kind          text NOT NULL CHECK (kind IN ('consultant', 'association')),
    recipient_id  text NOT NULL,
    name          text NOT NULL,
    PRIMARY KEY (department_id, kind, recipient_id)
);
