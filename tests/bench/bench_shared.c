/*
 * Benchmarks of the shared library's hot paths: the functions that run once
 * per DNS lookup or API request. Prints ns per operation.
 */
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/rr.h"
#include "tests/bench/bench.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

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
	char name[DNSNAME_SIZE], content[RR_CONTENT_SIZE];

	BENCH("dnsname_normalize mixed case, 4 labels", 300, 10000000UL,
	      sink += (size_t)dnsname_normalize("Alice.Home.DYN.test", 0, name, NULL));
	BENCH("rr_content_normalize AAAA", 300, 10000000UL,
	      sink += (size_t)rr_content_normalize(RR_AAAA, "2001:DB8:0:0:0:0:0:1", content,
						   sizeof(content), NULL));
	BENCH("rr_content_normalize TXT 100 bytes", 300, 10000000UL,
	      sink += (size_t)rr_content_normalize(
		      RR_TXT,
		      "v=spf1 include:_spf.example.net ip4:192.0.2.0/24 ip6:2001:db8::/32 "
		      "mx a:mail.example.net -all",
		      content, sizeof(content), NULL));
	BENCH("rr_to_json + json_dumps (one A record)", 300, 10000000UL, {
		json_t *j = rr_to_json("alice.dyn.test.", RR_A, "192.0.2.1", 60, 1);
		char *text = json_dumps(j, JSON_COMPACT);
		sink += strlen(text);
		free(text);
		json_decref(j);
	});
	struct metrics_registry *reg = metrics_registry_create();
	struct metric *counter = metrics_counter(reg, "bench_total", "a counter");
	struct metric *hist = metrics_histogram(reg, "bench_seconds", "a histogram", NULL, 0);
	const char *const labels[] = { "method", "route", "code" };
	const char *const values[] = { "GET", "/api/v1/domains/{name}", "200" };
	struct metric_family *fam =
		metrics_counter_vec(reg, "bench_requests_total", "labeled", labels, 3);

	BENCH("metric_inc counter", 300, 100000000UL, metric_inc(counter));
	BENCH("metric_with 3 labels + metric_inc", 300, 10000000UL,
	      metric_inc(metric_with(fam, values)));
	BENCH("metric_observe histogram (13 buckets)", 300, 100000000UL,
	      metric_observe(hist, 0.0042));
	sink += (size_t)metric_value(counter);
	metrics_registry_destroy(reg);
	return sink == 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
