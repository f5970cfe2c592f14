#!/bin/sh
# Creates Temporal's two PostgreSQL databases (persistence and visibility)
# and brings their schemas to the version of the server binary, with the
# server's own SQL tool and schema files. Safe to run again: an existing
# database is kept and only brought up to date (the upgrade step of a new
# server version, README "Upgrades").
#
#   TEMPORAL_DB_HOST=db.internal TEMPORAL_DB_USER=temporal TEMPORAL_DB_PASSWORD=... \
#     deploy/temporal/setup-schema.sh
#
# TEMPORAL_SQL_TOOL (bin/temporal-sql-tool) and TEMPORAL_SCHEMA_DIR
# (bin/temporal-schema, the server module's schema/postgresql/v12, copied
# by `make bin/temporal-server`) say where the tool and the files are.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
tool=${TEMPORAL_SQL_TOOL:-$here/bin/temporal-sql-tool}
schema=${TEMPORAL_SCHEMA_DIR:-$here/bin/temporal-schema}
for f in "$tool" "$schema/temporal/versioned" "$schema/visibility/versioned"; do
  [ -e "$f" ] || { echo "setup-schema: $f is missing: run make bin/temporal-server" >&2; exit 1; }
done
export SQL_PLUGIN=postgres12
export SQL_HOST=${TEMPORAL_DB_HOST:-127.0.0.1}
export SQL_PORT=${TEMPORAL_DB_PORT:-5432}
export SQL_USER=${TEMPORAL_DB_USER:-temporal}
export SQL_PASSWORD=${TEMPORAL_DB_PASSWORD:-}
for pair in "${TEMPORAL_DB_NAME:-temporal}:temporal" "${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility}:visibility"; do
  db=${pair%%:*} kind=${pair#*:}
  # create-database fails when the database exists: that is the rerun.
  "$tool" --db "$db" create-database 2>/dev/null || echo "setup-schema: database $db exists, updating it"
  # Version 0.0 marks an empty schema; update-schema then applies every
  # versioned step up to the newest the files know.
  "$tool" --db "$db" setup-schema -v 0.0 2>/dev/null || true
  "$tool" --db "$db" update-schema -d "$schema/$kind/versioned"
done
echo "setup-schema: $SQL_HOST:$SQL_PORT ${TEMPORAL_DB_NAME:-temporal} and ${TEMPORAL_VISIBILITY_DB_NAME:-temporal_visibility} are up to date"
