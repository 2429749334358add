# make soak: the long chaos soak (tests/soak/soak.sh, docs/soak.md) on the plain build:
# SMS and API load for about 10 minutes while rechargd is SIGKILLed (one in ~10 s, at
# least 20), the SMSC drops the link and the provider misbehaves; then every invariant
# is checked. SOAK_SECONDS, SOAK_KILLS and SOAK_SEED (replay a run) override.
.PHONY: soak
soak: all
	SOAK_SECONDS=$${SOAK_SECONDS:-600} B=$(B) nice bash tests/soak/soak.sh
