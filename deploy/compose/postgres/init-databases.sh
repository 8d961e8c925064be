#!/usr/bin/env bash
# One login role and one database per service, owned by that role (DESIGN.md: each service its own database).
# The postgres image runs this once, on an empty data directory (/docker-entrypoint-initdb.d).
# Passwords come from the environment: <SERVICE>_DB_PASSWORD (e.g. INTAKE_DB_PASSWORD); none is stored here.
# Running it again is harmless: an existing role gets the password from the environment, an existing database stays.
set -euo pipefail

services="${CRP_SERVICES:-intake routing notify stats}"
for service in $services; do
    password_var="$(printf '%s' "$service" | tr '[:lower:]' '[:upper:]')_DB_PASSWORD"
    password="${!password_var:-}"
    if [ -z "$password" ]; then
        echo "init-databases: $password_var is not set" >&2
        exit 1
    fi
    # psql variables (:"name" quotes an identifier, :'pw' a literal), so no value is ever spliced into SQL text.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        -v name="$service" -v pw="$password" <<'SQL'
SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') AS role_exists \gset
\if :role_exists
ALTER ROLE :"name" LOGIN PASSWORD :'pw';
\else
CREATE ROLE :"name" LOGIN PASSWORD :'pw';
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') AS db_missing \gset
\if :db_missing
CREATE DATABASE :"name" OWNER :"name";
\endif
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "init-databases: role and database $service ready"
done
