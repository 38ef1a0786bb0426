#!/bin/sh
# Entry point of the test cluster's MariaDB image (scripts/images builds it from Debian's MariaDB
# packages, the same server binaries the host-side test sites run). Swaps in a staged clone,
# initialises an empty datadir on first start, makes root@'%' use $MARIADB_ROOT_PASSWORD on
# every start, then replaces itself with mariadbd (so the server is pid 1 and receives the
# kubelet's SIGTERM). Arguments go to mariadbd first, as the official images pass them, so
# --defaults-extra-file=<file> may lead; the options this script adds come after them.
set -eu
: "${MARIADB_ROOT_PASSWORD:?is not set: the image needs the password for root@'%' in MARIADB_ROOT_PASSWORD}"
work="${TMPDIR:-/tmp}"
# The datadir: an option file's (--defaults-extra-file, as the official images read it), else
# $MARIADB_DATADIR, else the default.
extra=""
for arg in "$@"; do
  case "$arg" in --defaults-extra-file=*) extra="${arg#*=}" ;; esac
done
configured=""
if [ -n "$extra" ]; then
  configured=$(my_print_defaults --defaults-extra-file="$extra" mysqld | sed -n 's/^--datadir=//p' | tail -n 1)
fi
datadir="${configured:-${MARIADB_DATADIR:-/var/lib/mysql}}"
# A clone staged by the site's agent is swapped in now, while the server is down; the agent
# never does it itself, so it never races this restart.
mariadb-apply-clone "$datadir"
if [ ! -d "$datadir/mysql" ]; then
  echo "entrypoint: initialising $datadir"
  if ! mariadb-install-db --user=root --datadir="$datadir" --skip-test-db --skip-name-resolve >"$work/install.log" 2>&1; then
    cat "$work/install.log" >&2
    exit 1
  fi
fi
# SQL string literal: backslashes and single quotes escaped.
password=$(printf '%s' "$MARIADB_ROOT_PASSWORD" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
umask 077
# Not binary-logged: these statements run at every start, and a replica must never get
# transactions of its own (they would be errant to the rest of its group).
cat >"$work/init.sql" <<SQL
SET SESSION sql_log_bin = 0;
DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1';
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$password';
ALTER USER 'root'@'%' IDENTIFIED BY '$password';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
SQL
exec mariadbd "$@" --user=root --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \
  --socket=/run/mysqld/mysqld.sock --init-file="$work/init.sql"
