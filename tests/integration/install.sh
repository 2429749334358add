#!/usr/bin/env bash
# make install as a package build does it (DESTDIR, PREFIX=/usr), then the installed
# files themselves: where docs/operations.md says they are, the manual pages render
# without a groff warning and name every command and key, the systemd unit passes
# systemd-analyze verify, and the example config loads in the installed rechargd (as
# shipped, and with every commented line switched on), which starts and stops with 0.
. "$(dirname "$0")/../lib.sh"

T_DIR="$ROOT/$TEST_OUT/install"
rm -rf "$T_DIR"; mkdir -p "$T_DIR"
D="$T_DIR/root"
export LC_ALL=C
unset RECHARGD_DATA MANPATH

if make -C "$ROOT" -s BUILDDIR="$B" install DESTDIR="$D" PREFIX=/usr >"$T_DIR/make.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	not_ok "make install DESTDIR=... PREFIX=/usr: $(tail -3 "$T_DIR/make.log")"
	exit 1
fi

for f in usr/sbin/rechargd usr/bin/rechargectl; do
	check "installed /$f (0755)" test -x "$D/$f" -a "$(stat -c %a "$D/$f")" = 755
done
for f in usr/share/man/man8/rechargd.8 usr/share/man/man8/rechargectl.8 \
    usr/share/man/man5/rechargd.conf.5 usr/share/rechargd/number-series.csv \
    usr/share/doc/rechargd/rechargd.conf.example usr/share/doc/rechargd/operations.md \
    lib/systemd/system/rechargd.service; do
	check "installed /$f (0644)" test -f "$D/$f" -a "$(stat -c %a "$D/$f" 2>/dev/null)" = 644
done
check "installed unit runs /usr/sbin/rechargd -c /etc/rechargd/rechargd.conf" \
	grep -qx 'ExecStart=/usr/sbin/rechargd -c /etc/rechargd/rechargd.conf' "$D/lib/systemd/system/rechargd.service"
check "installed rechargd runs (-V)" test "$("$D/usr/sbin/rechargd" -V | cut -d' ' -f1)" = rechargd

# PREFIX=/usr/local: the unit follows the prefix; uninstall removes every file
L="$T_DIR/local"
make -C "$ROOT" -s BUILDDIR="$B" install DESTDIR="$L" >"$T_DIR/make-local.log" 2>&1
check "default PREFIX /usr/local, unit in /usr/local/lib/systemd/system naming /usr/local/sbin" \
	grep -qx 'ExecStart=/usr/local/sbin/rechargd -c /etc/rechargd/rechargd.conf' \
	"$L/usr/local/lib/systemd/system/rechargd.service"
make -C "$ROOT" -s BUILDDIR="$B" uninstall DESTDIR="$L" >>"$T_DIR/make-local.log" 2>&1
check "make uninstall leaves no file" test -z "$(find "$L" -type f)"

# manual pages: no groff warning (-ww), and man(1) renders them too
for p in man8/rechargd.8 man8/rechargectl.8 man5/rechargd.conf.5; do
	page="$D/usr/share/man/$p"
	out=$(groff -man -ww -z "$page" 2>&1)
	check "groff -man -ww -z $(basename "$p"): no warnings" test -z "$out"
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$T_DIR/$(basename "$p").txt")
		check "man -l $(basename "$p"): renders without warnings" test -z "$out" -a -s "$T_DIR/$(basename "$p").txt"
	else
		not_ok "man -l $(basename "$p"): man-db is not installed"
	fi
done

# every command of rechargectl's table in rechargectl(8)
missing=""
while read -r cmd; do
	grep -qF "\\fB${cmd//-/\\-}\\fR" "$D/usr/share/man/man8/rechargectl.8" || missing="$missing [$cmd]"
done < <("$D/usr/bin/rechargectl" help | awk '/^  [a-z]/ { k = split(substr($0, 3, 58), w, " "); n = ""
	for (i = 1; i <= k && w[i] ~ /^[a-z][a-z-]*$/; i++) n = n (n ? " " : "") w[i]; print n }')
check "rechargectl(8) lists every command of rechargectl help${missing:+ (missing:$missing)}" test -z "$missing"
ncmds=$("$D/usr/bin/rechargectl" help | grep -c '^  [a-z]')
check "rechargectl help has commands ($ncmds)" test "$ncmds" -gt 30

# every key of common/config.c's table in rechargd.conf(5) and in the example
keys=$(grep -oE '^\s*\{ "[a-z]+", "[a-z_]+"' "$ROOT/common/config.c" | sed -E 's/.*"([a-z]+)", "([a-z_]+)"/\1.\2/')
nkeys=$(printf '%s\n' "$keys" | grep -c .)
mman=""; mex=""
for k in $keys; do
	sec=${k%%.*} key=${k#*.}
	grep -qE "^\.(B|BR) .*\\b${key}\\b" "$D/usr/share/man/man5/rechargd.conf.5" || mman="$mman $k"
	awk -v s="[$sec]" -v k="$key" '/^\[/ { in_s = ($0 == s) } in_s && $0 ~ ("^#?" k " =") { f = 1 } END { exit !f }' \
		"$D/usr/share/doc/rechargd/rechargd.conf.example" || mex="$mex $k"
done
check "rechargd.conf(5) describes all $nkeys keys of the config table${mman:+ (missing:$mman)}" test -z "$mman" -a "$nkeys" -gt 40
check "rechargd.conf.example has all $nkeys keys in their sections${mex:+ (missing:$mex)}" test -z "$mex"

# the unit: systemd-analyze verify on a copy naming the installed binary (verify wants
# ExecStart to exist) with the installed manual pages on MANPATH (Documentation= is checked)
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T_DIR/unit"
	sed "s|^ExecStart=/usr/sbin/rechargd|ExecStart=$D/usr/sbin/rechargd|" \
		"$D/lib/systemd/system/rechargd.service" >"$T_DIR/unit/rechargd.service"
	out=$(MANPATH="$D/usr/share/man" systemd-analyze verify "$T_DIR/unit/rechargd.service" 2>&1); rc=$?
	check "systemd-analyze verify rechargd.service: clean${out:+ ($out)}" test $rc -eq 0 -a -z "$out"
	for k in 'Type=simple' 'ExecReload=/bin/kill -HUP $MAINPID' 'User=rechargd' 'Group=rechargd' \
	    'StateDirectory=rechargd' 'ConfigurationDirectory=rechargd' 'Restart=on-failure' \
	    'NoNewPrivileges=yes' 'ProtectSystem=strict' 'CapabilityBoundingSet=' 'UMask=0077' \
	    'MemoryDenyWriteExecute=yes' 'ReadWritePaths=/var/lib/rechargd' 'LimitNOFILE=65536'; do
		grep -qxF "$k" "$T_DIR/unit/rechargd.service" || { not_ok "unit has $k"; continue; }
	done
	ok "unit has its settings and hardening"
	for k in 'SystemCallFilter=@system-service' 'SystemCallFilter=~@privileged' 'ProtectProc=invisible' \
	    'RestrictSUIDSGID=yes'; do
		grep -qxF "$k" "$T_DIR/unit/rechargd.service" || not_ok "unit has $k"
	done
	# systemd's own rating of the sandbox (0 best, 10 worst; 3.6 before the syscall filter)
	exp=$(systemd-analyze security --offline=yes "$T_DIR/unit/rechargd.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$exp" ]; then
		check "systemd-analyze security: exposure $exp <= 2.0" awk -v e="$exp" 'BEGIN { exit !(e <= 2.0) }'
	else
		ok "systemd-analyze security (skipped: no --offline)"
	fi
else
	ok "systemd-analyze verify rechargd.service (skipped: no systemd-analyze)"
fi

# example_run NAME CONF: init with the installed rechargectl (series from the installed
# share folder), the installed rechargd starts with no SMSC, serves /healthz, stops with 0
example_run() {
	local name=$1 conf=$2 dir out rc
	dir=$(dirname "$conf")
	out=$("$D/usr/bin/rechargectl" -c "$conf" init 2>&1); rc=$?
	check "$name: rechargectl init (exit $rc)" test $rc -eq 0
	check "$name: init found the installed number series" \
		grep -qF "number series $D/usr/share/rechargd/number-series.csv" <<<"$out"
	check "$name: pepper file 0600" test "$(stat -c %a "$dir/rechargd.pepper" 2>/dev/null)" = 600
	"$D/usr/sbin/rechargd" -c "$conf" >"$dir/rechargd.log" 2>&1 &
	T_RD_PID=$!; T_PIDS="$T_PIDS $T_RD_PID"
	for _ in $(seq 1 100); do grep -q 'rechargd .* started' "$dir/rechargd.log" && break; sleep 0.1; done
	check "$name: rechargd starts" grep -q 'rechargd .* started' "$dir/rechargd.log"
	out=$(curl -s --max-time 5 "http://127.0.0.1:$3/healthz")
	check "$name: /healthz answers, SMSC unbound" test "$out" = '{"status":"degraded","smpp":"unbound","database":"ok"}'
	rd_stop
	check "$name: SIGTERM: exit 0 (exit $T_RD_RC)" test "$T_RD_RC" -eq 0
	grep -E ' (error|warn) ' "$dir/rechargd.log" | grep -v 'smpp' | head -3 | sed 's/^/    /'
}

# as shipped: only the paths (/var/lib/rechargd) and the ports changed
mkdir -p "$T_DIR/a"
sp=$(free_port); hp=$(free_port)
sed -e "s|^path = /var/lib/rechargd/|path = $T_DIR/a/|" \
    -e "s|^pepper_file = /var/lib/rechargd/|pepper_file = $T_DIR/a/|" \
    -e "s|^#port = 2775$|port = $sp|" -e "s|^#listen = 127.0.0.1:8080$|listen = 127.0.0.1:$hp|" \
    "$D/usr/share/doc/rechargd/rechargd.conf.example" >"$T_DIR/a/rechargd.conf"
check "example: only the paths and ports differ (4 lines)" \
	test "$(diff "$D/usr/share/doc/rechargd/rechargd.conf.example" "$T_DIR/a/rechargd.conf" | grep -c '^>')" -eq 4
# the way docs/operations.md installs it (0640; group rechargd there) passes; copied as
# the docs folder has it (0644) it is refused, since it holds the SMPP password
chmod 640 "$T_DIR/a/rechargd.conf"
example_run "example as shipped" "$T_DIR/a/rechargd.conf" "$hp"
chmod 644 "$T_DIR/a/rechargd.conf"
out=$("$D/usr/sbin/rechargd" -c "$T_DIR/a/rechargd.conf" 2>&1); rc=$?
check "example left 0644: rechargd refuses (exit $rc) with chmod 640" \
	test $rc -eq 2 -a -n "$(grep -F "chmod 640 $T_DIR/a/rechargd.conf" <<<"$out")"
chmod 640 "$T_DIR/a/rechargd.conf"

# every "#key = value" and "#[section]" switched on: the defaults it shows are valid, and
# so is the http-json provider (its host made a closed local port: nothing leaves)
mkdir -p "$T_DIR/b"
sp=$(free_port); hp=$(free_port)
sed -E -e 's/^#([a-z[])/\1/' \
    -e "s|^path = /var/lib/rechargd/|path = $T_DIR/b/|" \
    -e "s|^pepper_file = /var/lib/rechargd/|pepper_file = $T_DIR/b/|" \
    -e "s|^port = 2775$|port = $sp|" -e "s|^listen = 127.0.0.1:8080$|listen = 127.0.0.1:$hp|" \
    -e "s|https://api.example.in/|http://127.0.0.1:9/|" \
    "$D/usr/share/doc/rechargd/rechargd.conf.example" >"$T_DIR/b/rechargd.conf"
check "example with every line on: the http-json provider is there" grep -qx '\[provider.payjson\]' "$T_DIR/b/rechargd.conf"
example_run "example, every line on" "$T_DIR/b/rechargd.conf" "$hp"
check "example, every line on: the http-json provider was loaded" \
	grep -q payjson <("$D/usr/bin/rechargectl" -c "$T_DIR/b/rechargd.conf" provider list 2>&1)

t_done
