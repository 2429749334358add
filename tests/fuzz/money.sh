#!/usr/bin/env bash
# libFuzzer over money and MSISDN text (tests/fuzz/fuzz_money.c: common/money.c,
# common/msisdn.c), FUZZ_SECONDS (default 10) from the seed corpus.
. "$(dirname "$0")/fuzz.bash"
FUZZ_SECONDS=${FUZZ_SECONDS:-10} fuzz_run money 256
