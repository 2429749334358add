/* ctl/main.c: main() alone, so tests can link the rest of ctl/ (beanstalkd style). */
#include "ctl/ctl.h"

/* Everything else lives in ctl.c so tests can link it. */
int
main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
