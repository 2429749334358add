# The echo ESME (tools/echoesme/): binds to an SMSC and answers every MO with the same
# text, the benchmarks' first baseline (tools/bench/sms.sh). Built with `all`.
ECHOESME_OBJS := $(patsubst %.c,$(B)/%.o,$(wildcard tools/echoesme/*.c))

all: $(B)/echoesme

$(B)/echoesme: $(ECHOESME_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
