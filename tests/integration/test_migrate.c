#include "tests/unit/check_main.h"
Suite *make_suite(void)
{
	return suite_create("m");
}
