#!/usr/bin/env bash
# Runs once, on the first start of an empty data volume (postgres image's /docker-entrypoint-initdb.d).
# The cluster's superuser is Temporal's (auto-setup creates its `temporal` and `temporal_visibility`
# databases itself). This script adds the application's own least-privilege role and database, which
# owns its schema: the app applies its migrations (db/migrate.py) at start-up as that role.
#
# Changing APP_DB_PASSWORD later does not re-run this script: on an existing volume use
#   ALTER ROLE support PASSWORD '...';
set -euo pipefail

: "${APP_DB_USER:?APP_DB_USER must be set}"
: "${APP_DB_NAME:?APP_DB_NAME must be set}"
: "${APP_DB_PASSWORD:?APP_DB_PASSWORD must be set}"

# psql variables (:"ident", :'literal') quote the values, so any password is safe here.
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v app_user="$APP_DB_USER" -v app_db="$APP_DB_NAME" -v app_password="$APP_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'app_user', :'app_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_user')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db') \gexec
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
GRANT ALL PRIVILEGES ON DATABASE :"app_db" TO :"app_user";
SQL
