#!/usr/bin/env bash
# The chaos soak's short form for CI (tests/soak/soak.sh, docs/soak.md): about 30 s of
# SMS and API load with 22 SIGKILLs and restarts, SMSC drops and provider 503 / 500 /
# hang / garbage, then every invariant (nothing lost, nothing doubled, no wallet below
# zero, the provider's ledger and ours agree). About a minute of wall time. The seed is
# printed; SOAK_SEED=N replays its choices.
export SOAK_SECONDS=${SOAK_SECONDS:-30} SOAK_KILLS=${SOAK_KILLS:-22} SOAK_NAME=chaos
exec bash "$(dirname "$0")/../soak/soak.sh"
