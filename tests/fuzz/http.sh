#!/usr/bin/env bash
# libFuzzer over the HTTP server end to end (tests/fuzz/fuzz_http.c: evhttp with
# channels/http.c and channels/api.c over loopback TCP, the engine and the sim provider),
# FUZZ_SECONDS (default 15) from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-15} fuzz_run http 8192
