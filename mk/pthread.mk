# db/checkpoint.c runs the WAL checkpoint on a thread of its own (issue 7): every program
# and test linking librechargd.a needs -pthread (glibc 2.34+ has it in libc, but the flag
# also sets _REENTRANT and keeps older toolchains linking).
CFLAGS += -pthread
LDLIBS += -pthread
