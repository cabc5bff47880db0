#!/usr/bin/env bash
# Creates the databases named in YHD_DATABASES (comma- or space-separated), owned by
# POSTGRES_USER: one per organisation and service (<org>_<service>, '-' as '_') plus
# region_reporting. docker-compose.yml passes the list, generated from deploy/federation.yaml.
#
# The postgres image runs this once, from /docker-entrypoint-initdb.d, when the data volume
# is empty. It skips databases that exist, so after adding an organisation rerun it with
#     docker compose exec postgres /docker-entrypoint-initdb.d/init-databases.sh
set -Eeo pipefail

: "${POSTGRES_USER:?}" "${YHD_DATABASES:?set YHD_DATABASES to the databases to create}"
admin_db=${POSTGRES_DB:-$POSTGRES_USER}

for db in ${YHD_DATABASES//,/ }; do
  if [[ ! $db =~ ^[a-z_][a-z0-9_]{0,62}$ ]]; then
    echo "init-databases: invalid database name: $db" >&2
    exit 1
  fi
  exists=$(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$admin_db" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$db'")
  if [[ $exists == 1 ]]; then
    echo "init-databases: $db exists"
  else
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$admin_db" -qc \
      "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
    echo "init-databases: created $db"
  fi
done
