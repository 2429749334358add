#!/usr/bin/env bash
# libFuzzer over the http-json provider's answer mapping and templates
# (tests/fuzz/fuzz_provider.c: provider_http_fuzz_one in engine/provider_http.c),
# FUZZ_SECONDS (default 10) from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} fuzz_run provider 8192
