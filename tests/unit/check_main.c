#include "tests/unit/check_main.h"

#include <stdlib.h>

int main(void)
{
	SRunner *sr = srunner_create(make_suite());
	int failed;

	srunner_set_tap(sr, "-");
	srunner_run_all(sr, CK_SILENT);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
