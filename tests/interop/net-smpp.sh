#!/usr/bin/env bash
# Interop: the real rechargd against an independent SMSC written with Debian's Net::SMPP
# (tests/interop/smsc.pl, package libnet-smpp-perl): a second SMPP stack, neither ours
# nor node-smpp, running the same scenario (common.bash) as node-smpp.sh. smsc.pl prints
# "ok"/"not ok" per step, common.bash adds what only the database can tell.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/common.bash"

t_setup net-smpp

if [ ! -x "$RECHARGD" ] || ! command -v jq >/dev/null; then
	not_ok "net-smpp: rechargd ($RECHARGD) and jq are there"
	t_done; exit 1
fi
if ! perl -MNet::SMPP -MJSON::PP -e 1 2>"$T_DIR/perl.log"; then
	not_ok "net-smpp: perl has Net::SMPP (apt-get install libnet-smpp-perl; see $T_DIR/perl.log)"
	t_done; exit 1
fi

interop_run smsc.pl perl "$HERE/smsc.pl"
t_done
