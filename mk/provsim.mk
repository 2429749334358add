# The provider simulator (tools/provsim/, docs/provsim.md): an aggregator's HTTP API
# that tests and benchmarks of the http-json providers drive. Built with `all`.
PROVSIM_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tools/provsim/*.c))

all: $(B)/provsim

$(B)/provsim: $(PROVSIM_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
