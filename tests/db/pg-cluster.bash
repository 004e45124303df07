# Sourced by the database tests: a throwaway PostgreSQL cluster (Debian's
# postgresql package) in a temporary folder, run by an unprivileged user
# (postgres refuses root: as root the server runs as `nobody`), listening on a
# Unix socket in that folder only (no TCP). pg_start sets PG_URL; the caller's
# EXIT trap must call pg_stop, which stops the server and removes the folder.
# pg_start returns 1 with PG_WHY set when no PostgreSQL server is installed.

PG_DIR=""
PG_URL=""
PG_WHY=""

pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

pg_start() {
	local bin
	bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
		PG_WHY="no PostgreSQL server (Debian package postgresql) under /usr/lib/postgresql"
		return 1
	fi
	if [ ! -c /dev/null ]; then
		PG_WHY="/dev/null is not a character device here: initdb cannot run"
		PG_DIR=/nonexistent
		return 2
	fi
	PG_DIR=$(mktemp -d /tmp/kq-pg.XXXXXX)
	chmod 755 "$PG_DIR"
	[ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$PG_DIR"
	pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -A trust -U kq -E UTF8 --locale=C \
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || {
		PG_WHY="initdb failed: $(tail -3 "$PG_DIR/initdb.log")"
		return 2
	}
	pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
		-o "-k $PG_DIR -c listen_addresses='' -F" start >/dev/null 2>&1 || {
		PG_WHY="pg_ctl start failed: $(tail -3 "$PG_DIR/server.log" 2>/dev/null)"
		return 2
	}
	PG_BIN=$bin
	PG_URL="postgresql:///postgres?host=$PG_DIR&user=kq"
	return 0
}

# A fresh, empty database on the running cluster: prints its URL.
pg_new_db() {
	local name=$1
	pg_as_owner "$PG_BIN/createdb" -h "$PG_DIR" -U kq "$name" >/dev/null 2>&1 || return 1
	echo "postgresql:///$name?host=$PG_DIR&user=kq"
}

pg_stop() {
	[ -n "$PG_DIR" ] && [ -d "$PG_DIR" ] || return 0
	if [ -n "${PG_BIN:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
	PG_DIR=""
}
