#!/usr/bin/env bash
# tools/bench/bench.sh: `make bench` (issue 7). Runs the parts named in BENCH_PARTS
# (default "sms kannel http inflight"; each is tools/bench/PART.sh, printing ROW lines),
# Kannel first so the SMS part compares with the Kannel rate of the same run
# (BENCH_KANNEL_RATE), collects the rows, adds the rechargd-vs-Kannel ratios when both
# ran, and prints a markdown table headed by the date, the git commit, the core count
# and the CPU model, which also goes to ${BENCH_OUT:-build/bench}/results-STAMP.md and
# latest.md. A part whose script does not exist is listed as not run; a part still
# running after BENCH_PART_TIMEOUT seconds (1200) is stopped (its whole process group)
# and counted as failed.
# Exit status 0 when every part ran (a missed target is a measurement, not a failure);
# 1 when a part failed to run; 2 on an unknown part name.
set -u
cd "$(dirname "$0")/../.."
export B=${B:-build}
export BENCH_OUT=${BENCH_OUT:-build/bench}
PARTS=${BENCH_PARTS:-sms kannel http inflight}
ORDER="kannel sms http inflight"
PART_TIMEOUT=${BENCH_PART_TIMEOUT:-1200}
mkdir -p "$BENCH_OUT"
STAMP=$(date -u +%Y%m%d-%H%M%S)
ROWS=$BENCH_OUT/rows-$STAMP.tsv
: >"$ROWS"

log() { echo "bench.sh: $*" >&2; }
for p in $PARTS; do
	case " $ORDER " in *" $p "*) ;; *) log "unknown part '$p' (parts: $ORDER)"; exit 2 ;; esac
done

started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
notrun=""; failed=""; ran=""
for p in $ORDER; do
	case " $PARTS " in *" $p "*) ;; *) continue ;; esac
	script=tools/bench/$p.sh
	if [ ! -f "$script" ]; then
		notrun="$notrun $p"
		printf 'ROW\t%s\t(part not run: %s does not exist yet)\t-\t-\tinfo\n' "$p" "$script" >>"$ROWS"
		continue
	fi
	log "part $p ..."
	ts=$(date +%s)
	timeout -k 10 "$PART_TIMEOUT" bash "$script" >"$BENCH_OUT/$p.rows" 2> >(tee "$BENCH_OUT/$p.log" >&2)
	rc=$?
	[ "$rc" = 124 ] && log "part $p: stopped after $PART_TIMEOUT s"
	grep '^ROW	' "$BENCH_OUT/$p.rows" >>"$ROWS"
	log "part $p: exit $rc, $(grep -c '^ROW	' "$BENCH_OUT/$p.rows") rows, $(( $(date +%s) - ts )) s"
	if [ "$rc" != 0 ] || ! grep -q '^ROW	' "$BENCH_OUT/$p.rows"; then
		failed="$failed $p"
		printf 'ROW\t%s\t(part failed: exit %s; see %s)\t-\t-\tfailed\n' "$p" "$rc" "$BENCH_OUT/$p.log" >>"$ROWS"
	fi
	ran="$ran $p"
	if [ "$p" = kannel ]; then
		k=$(awk -F'\t' '$3 == "sustained rate, Kannel (msg/s)" { print $4 }' "$BENCH_OUT/$p.rows")
		case $k in ''|*[!0-9.]*) ;; *) export BENCH_KANNEL_RATE=$k ;; esac
	fi
done

# value FIGURE: the value of the first row with that figure name
value() { awk -F'\t' -v f="$1" '$3 == f { print $4; exit }' "$ROWS"; }
num() { case $1 in ''|*[!0-9.]*) return 1 ;; *) return 0 ;; esac; }
rd=$(value "sustained rate, rechargd (msg/s)")
kn=$(value "sustained rate, Kannel (msg/s)")
if num "$rd" && num "$kn" && [ "$kn" != 0 ]; then
	printf 'ROW\tSMS vs Kannel\tsustained rate, rechargd / Kannel\t%s\t> 1 (same run)\t%s\n' \
		"$(awk -v a="$rd" -v b="$kn" 'BEGIN { printf "%.2fx", a / b }')" \
		"$(awk -v a="$rd" -v b="$kn" 'BEGIN { print (a > b) ? "met" : "missed" }')" >>"$ROWS"
fi
rp=$(value "p99 at 1,000/s open loop (ms)")
kp=$(value "p99 at 1,000/s open loop, Kannel (ms)")
if num "$rp" && num "$kp"; then
	printf 'ROW\tSMS vs Kannel\tp99 at 1,000/s, rechargd vs Kannel (ms)\t%s vs %s\t-\tinfo\n' "$rp" "$kp" >>"$ROWS"
fi

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit (with uncommitted changes)"
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
met=$(awk -F'\t' '$6 == "met"' "$ROWS" | wc -l)
missed=$(awk -F'\t' '$6 == "missed"' "$ROWS" | wc -l)
info=$(awk -F'\t' '$6 == "info"' "$ROWS" | wc -l)
TABLE=$BENCH_OUT/results-$STAMP.md
{
	echo "# rechargd benchmarks (make bench)"
	echo
	echo "- date: $started; took $(( $(date +%s) - t0 )) s"
	echo "- commit: $commit"
	echo "- machine: $(nproc) cores ($cpu); load average at start $load_start"
	echo "- parts run:${ran:- none}; not run:${notrun:- none}; failed:${failed:- none}"
	echo
	echo "| section | figure | value | target/baseline | verdict |"
	echo "|---|---|---|---|---|"
	awk -F'\t' '{ for (i = 2; i <= 6; i++) gsub(/\|/, "\\|", $i);
		printf "| %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6 }' "$ROWS"
	echo
	echo "**$met met, $missed missed** ($info informational rows)"
} >"$TABLE"
cp "$TABLE" "$BENCH_OUT/latest.md"
cat "$TABLE"
echo
echo "written to $TABLE and $BENCH_OUT/latest.md"
[ -z "$failed" ] || { log "parts that failed to run:$failed (see $BENCH_OUT/PART.log)"; exit 1; }
exit 0
