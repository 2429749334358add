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

# the source package, fetched once into a cache shared by every build of it (the fuzz
# build uses clang, the ASan stage gcc)
SRCDIR=${SMPP34_SRC:-$PWD/build-smpp34-src}
mkdir -p "$SRCDIR"
src=$(find "$SRCDIR" -maxdepth 1 -type d -name 'libsmpp34-*' | head -1)

# fetch_pool: the installed version's .dsc and files straight from the archive's pool over
# HTTPS (no deb-src index to download: that `apt-get update` took minutes in CI); each
# file is checked against the .dsc's SHA-256. Returns 1 when it cannot.
fetch_pool() {
	local ver base url f sum size name
	command -v curl >/dev/null && command -v dpkg-source >/dev/null || return 1
	ver=$(dpkg-query -W -f='${source:Version}' libsmpp34-dev 2>/dev/null) || return 1
	[ -n "$ver" ] || return 1
	for base in https://deb.debian.org/debian-security/pool/updates/main/libs/libsmpp34 \
	            https://deb.debian.org/debian/pool/main/libs/libsmpp34; do
		url="$base/libsmpp34_${ver#*:}.dsc"
		rm -rf "$SRCDIR/pool"; mkdir -p "$SRCDIR/pool"
		curl -fsS --max-time 60 -o "$SRCDIR/pool/p.dsc" "$url" 2>/dev/null || continue
		sed -n '/^Checksums-Sha256:/,/^[A-Z]/p' "$SRCDIR/pool/p.dsc" | grep '^ ' >"$SRCDIR/pool/files" || continue
		while read -r sum size name; do
			curl -fsS --max-time 60 -o "$SRCDIR/pool/$name" "$base/$name" || return 1
			echo "$sum  $SRCDIR/pool/$name" | sha256sum -c --quiet - >&2 || return 1
		done <"$SRCDIR/pool/files"
		mv "$SRCDIR/pool/p.dsc" "$SRCDIR/pool/libsmpp34_${ver#*:}.dsc"
		(cd "$SRCDIR" && dpkg-source -x "pool/libsmpp34_${ver#*:}.dsc" >&2) || return 1
		return 0
	done
	return 1
}

if [ -z "$src" ] && ! fetch_pool; then
	echo "libsmpp34-asan: not in the archive's pool over HTTPS; trying apt-get source" >&2
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
	(cd "$SRCDIR" && apt-get source libsmpp34 >&2) || {
		# sources listed but the index not yet fetched
		[ "$(id -u)" -eq 0 ] && apt-get update >&2
		(cd "$SRCDIR" && apt-get source libsmpp34 >&2)
	}
fi
src=$(find "$SRCDIR" -maxdepth 1 -type d -name 'libsmpp34-*' | head -1)
[ -n "$src" ] || { echo "libsmpp34-asan: no source directory" >&2; exit 1; }

# build every .c of the library proper (src/ holds it; binding/ and tests/ are left out)
rm -rf "$DIR/obj"; mkdir -p "$DIR/obj"
# (the PDU tables expand into large functions: -O0, since clang -O1 with the sanitizers
# spends over a minute on each of three files; one compiler per core)
export CC SAN src DIR
printf '%s\n' "$src"/src/*.c | xargs -P "$(nproc)" -I{} sh -c \
    '$CC -O0 -g $SAN -fPIC -I"$src" -I"$src/src" -I"$src/def_frame" -I"$src/def_list" \
	-c "$1" -o "$DIR/obj/$(basename "$1" .c).o" >&2' sh {}
rm -f "$DIR/libsmpp34.a"
ar rcs "$DIR/libsmpp34.a" "$DIR"/obj/*.o
touch "$DIR/.stamp"
echo "$DIR"
