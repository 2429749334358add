/* ctl/main.c: main() alone, so tests can link the rest of ctl/ (beanstalkd style). */
#include "ctl/ctl.h"

int
main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
