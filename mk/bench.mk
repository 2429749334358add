# make bench (issue 7): builds everything, then tools/bench/bench.sh measures rechargd's
# SMS and HTTP figures and the Kannel baseline in one run and writes the table to
# build/bench/latest.md. Not part of make test. BENCH_PARTS chooses the parts
# (default "sms kannel http inflight"); docs/performance.md, "Running the benchmarks".
bench: all $(B)/noop_http
	B=$(B) tools/bench/bench.sh

# the Kannel baseline's no-op HTTP backend (tools/bench/noop_http.c): libevent only;
# built with `all` so it stays warnings-clean
all: $(B)/noop_http

$(B)/noop_http: tools/bench/noop_http.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(shell pkg-config --libs libevent)

.PHONY: bench
