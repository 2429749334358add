#!/usr/bin/env bash
# libFuzzer over the SMS command grammar (tests/fuzz/fuzz_parser.c: parser/parser.c),
# FUZZ_SECONDS (default 10) from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} fuzz_run parser 1024
