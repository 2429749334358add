#!/usr/bin/env bash
# libFuzzer over the inbound SMPP path (tests/fuzz/fuzz_pdu.c), FUZZ_SECONDS (default 20)
# from the seed corpus. libsmpp34 is the clang ASan build from Debian's source when it
# can be made (tests/libsmpp34-asan.sh), so an overflow in our encoder's use of it shows
# too; else the system library.
. "$(dirname "$0")/fuzz.bash"
mkdir -p "$B"
lib=$(CC=clang bash tests/libsmpp34-asan.sh "$B/smpp34" 2>"$B/smpp34.log") || lib=""
[ -n "$lib" ] || echo "# no ASan libsmpp34 (see $B/smpp34.log): linking the system one"
FUZZ_SECONDS=${FUZZ_SECONDS:-20} fuzz_run pdu 16384 ${lib:+FUZZ_SMPP34=$lib}
