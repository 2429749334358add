/* daemon/: rechargd's wiring: config, signals, the one event loop and its parts. */
#ifndef RECHARGD_DAEMON_H
#define RECHARGD_DAEMON_H

#define RECHARGD_VERSION "0.1.0"

/* The whole program; main() alone lives in main.c so tests can link the rest. */
int daemon_main(int argc, char **argv);

#endif
