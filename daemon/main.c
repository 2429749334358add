/* daemon/main.c: rechargd. Everything else is in daemon.c and the modules. */
#include "daemon/daemon.h"

int
main(int argc, char **argv)
{
	return daemon_main(argc, argv);
}
