#!/bin/sh
# Readiness check of the MariaDB image: the server answers a query as root over TCP. Kubernetes
# does not expand $(VAR) in exec probes, so the password comes from the container's environment here.
MYSQL_PWD="$MARIADB_ROOT_PASSWORD" exec mariadb --user=root --host=127.0.0.1 --port=3306 --connect-timeout=2 --batch --skip-column-names --execute="SELECT 1" >/dev/null
