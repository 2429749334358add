#!/bin/sh
# The README's two commands, fit to be the first thing run on a fresh Debian 12 machine
# that has only git:   ./make.sh run    (the demo)     ./make.sh test    (every test)
# It installs what is missing with apt-get (as root, or through sudo where it exists),
# then hands the arguments to make.
set -eu
cd "$(dirname "$0")"

build_pkgs="make gcc pkg-config libc6-dev libsmpp34-dev libpcre2-dev libsqlite3-dev \
libcurl4-openssl-dev libevent-dev libinih-dev libjansson-dev libssl-dev libcmocka-dev"
# tests: the real peers (curl, node-smpp on Node.js), sqlite3 to inspect the database,
# clang's libFuzzer, valgrind, and dpkg-dev to fetch libsmpp34's source for an ASan build
test_pkgs="sqlite3 curl systemd man-db groff-base clang libclang-rt-14-dev valgrind dpkg-dev procps python3 jq openssl xxd libnet-smpp-perl"
# bench (make bench): wrk for the HTTP figures, Kannel for the SMS baseline (issue 7),
# strace to see which socket options Kannel sets
bench_pkgs="wrk kannel strace"

case "${1:-all}" in
test|check|fuzz|soak) pkgs="$build_pkgs $test_pkgs" ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) pkgs="$build_pkgs" ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing="$missing $p"
done
case "${1:-all}" in
test|check)
	# Node.js for the node-smpp interop peer: Debian's, unless one is already there
	command -v node >/dev/null 2>&1 || missing="$missing nodejs"
	command -v npm >/dev/null 2>&1 || missing="$missing npm"
	;;
esac

if [ -n "$missing" ]; then
	if [ "$(id -u)" = 0 ]; then
		sudo=""
	elif command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	else
		echo "make.sh: missing packages:$missing; run as root or install sudo" >&2
		exit 1
	fi
	echo "make.sh: installing:$missing"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi

exec make -j"$(nproc 2>/dev/null || echo 2)" "$@"
