#!/usr/bin/env bash
# Builds libsmpp34 from Debian's source package with ASan + UBSan into a static library,
# so tests that encode PDUs see an overflow inside it (the system library is not
# instrumented: its trace buffer overflow goes unseen). Idempotent: the result is cached
# in build-smpp34-asan/ (or the directory given as $1). Prints that directory on stdout;
# everything else goes to stderr. Use: make SANITIZER=address SMPP34_ASAN=$(bash tests/libsmpp34-asan.sh)
set -eu
cd "$(dirname "$0")/.."
DIR=${1:-build-smpp34-asan}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CC=${CC:-cc}
SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"

if [ -f "$DIR/libsmpp34.a" ] && [ -f "$DIR/.stamp" ]; then
	echo "$DIR"
	exit 0
fi

# the source package, fetched once
src=$(find "$DIR" -maxdepth 1 -type d -name 'libsmpp34-*' | head -1)
if [ -z "$src" ]; then
	command -v dpkg-source >/dev/null || { echo "libsmpp34-asan: dpkg-dev is needed (apt-get install dpkg-dev)" >&2; exit 1; }
	# deb-src for bookworm and bookworm-security: the installed library is the security
	# update (1.14.1-3+deb12u1), so its source must be the one built
	SRCLIST=/etc/apt/sources.list.d/rechargd-src.sources
	if ! grep -qs 'bookworm-security' "$SRCLIST"; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "libsmpp34-asan: $SRCLIST missing and not root" >&2
			exit 1
		fi
		cat >"$SRCLIST" <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update >&2
	fi
	(cd "$DIR" && apt-get source libsmpp34 >&2) || {
		# sources listed but the index not yet fetched
		[ "$(id -u)" -eq 0 ] && apt-get update >&2
		(cd "$DIR" && apt-get source libsmpp34 >&2)
	}
	src=$(find "$DIR" -maxdepth 1 -type d -name 'libsmpp34-*' | head -1)
	[ -n "$src" ] || { echo "libsmpp34-asan: apt-get source gave no directory" >&2; exit 1; }
fi

# build every .c of the library proper (src/ holds it; binding/ and tests/ are left out)
rm -rf "$DIR/obj"; mkdir -p "$DIR/obj"
for c in "$src"/src/*.c; do
	o="$DIR/obj/$(basename "$c" .c).o"
	$CC -O1 -g $SAN -fPIC -I"$src" -I"$src/src" -I"$src/def_frame" -I"$src/def_list" \
	    -c "$c" -o "$o" >&2
done
rm -f "$DIR/libsmpp34.a"
ar rcs "$DIR/libsmpp34.a" "$DIR"/obj/*.o
touch "$DIR/.stamp"
echo "$DIR"
