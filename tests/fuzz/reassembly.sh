#!/usr/bin/env bash
# libFuzzer over the long-MO path end to end (tests/fuzz/fuzz_reassembly.c: SMPP session,
# SMS channel, SQLite sms_parts, against a model of the parts), FUZZ_SECONDS (default 15)
# from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} fuzz_run reassembly 8192
