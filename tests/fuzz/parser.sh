#!/usr/bin/env bash
# libFuzzer over the SMS command grammar (tests/fuzz/fuzz_parser.c: parser/parser.c),
# FUZZ_SECONDS (default 20) from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
fuzz_run parser 1024
