#!/usr/bin/env bash
# libFuzzer over SMS text both ways (tests/fuzz/fuzz_charset.c: smpp/charset.c decode,
# encode and split, with round-trip and size checks), FUZZ_SECONDS (default 10) from the
# seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} fuzz_run charset 1024
