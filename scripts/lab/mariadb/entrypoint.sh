#!/bin/bash
set -euo pipefail
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal >/dev/null
  init=$(mktemp)
  # MariaDB reads an init file one statement per line.
  printf '%s\n' "CREATE USER 'root'@'%' IDENTIFIED BY '';" "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;" > "$init"
  chown mysql "$init"
  set -- --init-file="$init"
fi
mkdir -p /run/mysqld && chown mysql /run/mysqld
exec mariadbd --user=mysql --datadir=/var/lib/mysql --port=4000 --bind-address=0.0.0.0 --skip-name-resolve "$@"
