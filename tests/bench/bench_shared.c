/*
 * Benchmarks of the shared library's hot paths: the functions that run once
 * per DNS lookup or API request. Prints ns per operation.
 */
#include "shared/log.h"
#include "tests/bench/bench.h"

#include <stdlib.h>

int main(void)
{
	char line[LOG_LINE_MAX + 64];
	struct log_field fields[] = {
		LOG_STR("method", "GET"),
		LOG_STR("path", "/api/v1/domains/alice.dyn.test"),
		LOG_NUM("status", 200),
		LOG_NUM("duration_us", 1234),
	};
	volatile size_t sink = 0;

	BENCH("log_format_line json, 4 fields", 300, 10000000UL,
	      sink +=
	      log_format_line(line, sizeof(line), LOG_FORMAT_JSON, "2026-11-27T07:30:00.123Z",
			      "api", LOG_LEVEL_INFO, "0123456789abcdef", fields, 4, "request"));
	BENCH("log_format_line logfmt, 4 fields", 300, 10000000UL,
	      sink +=
	      log_format_line(line, sizeof(line), LOG_FORMAT_LOGFMT, "2026-11-27T07:30:00.123Z",
			      "api", LOG_LEVEL_INFO, "0123456789abcdef", fields, 4, "request"));
	BENCH("log_debug when off", 300, 100000000UL, log_debug(NULL, "x %zu", sink));
	return sink == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
