#include "services/worker/ses.h"
#include "tests/unit/check_main.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define ID  "0123456789abcdef0123456789abcdef"
#define TOK "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ-_01234"

/* ---- classification ---------------------------------------------------------- */

static const struct class_case {
	long status;
	const char *type;
	enum send_status want;
} class_cases[] = {
	{ 200, NULL, SEND_OK },
	{ 200, "", SEND_OK },
	{ 429, "TooManyRequestsException", SEND_TEMPORARY },
	{ 429, NULL, SEND_TEMPORARY },
	{ 400, "Throttling", SEND_TEMPORARY }, /* SES v1 answers throttling with 400 */
	{ 400, "ThrottlingException", SEND_TEMPORARY },
	{ 400, "LimitExceededException", SEND_TEMPORARY },
	{ 503, "ServiceUnavailable", SEND_TEMPORARY },
	{ 500, "InternalFailure", SEND_TEMPORARY },
	{ 502, NULL, SEND_TEMPORARY },
	{ 504, "SomethingNew", SEND_TEMPORARY },
	{ 403, "ExpiredTokenException", SEND_TEMPORARY },
	{ 403, "InvalidClientTokenId", SEND_TEMPORARY },
	{ 403, "SignatureDoesNotMatch", SEND_TEMPORARY },
	{ 400, "MessageRejected", SEND_PERMANENT },
	{ 400, "BadRequestException", SEND_PERMANENT },
	{ 400, "AccountSuspendedException", SEND_PERMANENT },
	{ 400, "SendingPausedException", SEND_PERMANENT },
	{ 400, "MailFromDomainNotVerifiedException", SEND_PERMANENT },
	{ 404, "NotFoundException", SEND_PERMANENT },
	{ 403, "AccessDeniedException", SEND_PERMANENT },
	{ 400, NULL, SEND_PERMANENT },
	{ 413, "SomethingNew", SEND_PERMANENT },
	{ 500, "MessageRejected", SEND_PERMANENT }, /* the type decides when it is known */
};

START_TEST(test_classify)
{
	const struct class_case *c = &class_cases[_i];

	ck_assert_msg(ses_classify(c->status, c->type) == c->want, "%ld %s", c->status,
		      c->type ? c->type : "(none)");
}
END_TEST

static const struct type_case {
	const char *header, *body, *want;
} type_cases[] = {
	{ "MessageRejected:http://internal.amazon.com/coral/com.amazon.ses/", "{}",
	  "MessageRejected" },
	{ " TooManyRequestsException", NULL, "TooManyRequestsException" },
	{ NULL, "{\"__type\":\"com.amazonaws.ses#BadRequestException\",\"message\":\"x\"}",
	  "BadRequestException" },
	{ NULL, "{\"code\":\"Throttling\"}", "Throttling" },
	{ NULL, "{\"Code\":\"Throttling\"}", "Throttling" },
	{ NULL,
	  "<ErrorResponse><Error><Type>Sender</Type><Code>MessageRejected</Code>"
	  "<Message>Email address is not verified.</Message></Error></ErrorResponse>",
	  "MessageRejected" },
	{ NULL, "{\"message\":\"no type\"}", "" },
	{ NULL, "not json", "" },
	{ "", "", "" },
	{ "Bad\r\nHeader: x", NULL, "Bad" },
};

START_TEST(test_error_type)
{
	const struct type_case *c = &type_cases[_i];
	char buf[96];

	ses_error_type(c->header, c->body, c->body ? strlen(c->body) : 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, c->want);
}
END_TEST

/* ---- the environment ---------------------------------------------------------- */

static const char *const env_names[] = {
	"AWS_REGION",        "AWS_DEFAULT_REGION",    "AWS_ENDPOINT_URL_SES", "AWS_ENDPOINT_URL",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
};

static const struct env_case {
	const char *name;
	const char *v[7];                      /* in the order of env_names; NULL: unset */
	const char *region, *endpoint, *token; /* region NULL: refused */
} env_cases[] = {
	{ "region and keys",
	  { "eu-west-1", NULL, NULL, NULL, "AKID", "SECRET", NULL },
	  "eu-west-1",
	  "https://email.eu-west-1.amazonaws.com",
	  NULL },
	{ "default region",
	  { NULL, "us-east-2", NULL, NULL, "AKID", "SECRET", NULL },
	  "us-east-2",
	  "https://email.us-east-2.amazonaws.com",
	  NULL },
	{ "AWS_REGION wins",
	  { "eu-central-1", "us-east-2", NULL, NULL, "AKID", "SECRET", NULL },
	  "eu-central-1",
	  "https://email.eu-central-1.amazonaws.com",
	  NULL },
	{ "SES endpoint wins",
	  { "eu-west-1", NULL, "http://127.0.0.1:4566/", "http://other", "AKID", "SECRET", "T" },
	  "eu-west-1",
	  "http://127.0.0.1:4566",
	  "T" },
	{ "general endpoint",
	  { "eu-west-1", NULL, NULL, "http://127.0.0.1:5000", "AKID", "SECRET", NULL },
	  "eu-west-1",
	  "http://127.0.0.1:5000",
	  NULL },
	{ "no region", { NULL, NULL, NULL, NULL, "AKID", "SECRET", NULL }, NULL, NULL, NULL },
	{ "empty region", { "", NULL, NULL, NULL, "AKID", "SECRET", NULL }, NULL, NULL, NULL },
	{ "bad region",
	  { "eu west 1", NULL, NULL, NULL, "AKID", "SECRET", NULL },
	  NULL,
	  NULL,
	  NULL },
	{ "no key", { "eu-west-1", NULL, NULL, NULL, NULL, "SECRET", NULL }, NULL, NULL, NULL },
	{ "no secret", { "eu-west-1", NULL, NULL, NULL, "AKID", NULL, NULL }, NULL, NULL, NULL },
	{ "bad endpoint",
	  { "eu-west-1", NULL, "ftp://x", NULL, "AKID", "SECRET", NULL },
	  NULL,
	  NULL,
	  NULL },
};

START_TEST(test_env)
{
	const struct env_case *c = &env_cases[_i];
	struct ses_config cfg = { 0 };
	const char *reason = NULL;
	int r;

	for (size_t i = 0; i < 7; i++)
		if (c->v[i])
			setenv(env_names[i], c->v[i], 1);
		else
			unsetenv(env_names[i]);
	r = ses_config_from_env(&cfg, &reason);
	if (!c->region) {
		ck_assert_msg(r == -EINVAL, "%s: accepted", c->name);
		ck_assert_ptr_nonnull(reason);
		return;
	}
	ck_assert_msg(r == 0, "%s: %s", c->name, reason);
	ck_assert_str_eq(cfg.region, c->region);
	ck_assert_str_eq(cfg.endpoint, c->endpoint);
	ck_assert_str_eq(cfg.access_key, "AKID");
	ck_assert_str_eq(cfg.secret_key, "SECRET");
	if (c->token)
		ck_assert_str_eq(cfg.session_token, c->token);
	else
		ck_assert_ptr_null(cfg.session_token);
	ses_config_finish(&cfg);
	ses_config_finish(NULL);
}
END_TEST

/* ---- the request body ----------------------------------------------------------- */

static struct message *test_message(void)
{
	struct message_options o = { .public_base_url = "http://127.0.0.1:3000",
				     .mail_from = "ddns <noreply@example.org>" };
	struct job j = { .type = JOB_EMAIL_VERIFY, .id = ID, .to = "a@example.org", .token = TOK };
	struct message *m = NULL;

	ck_assert_int_eq(message_build(&j, &o, &m), 0);
	return m;
}

START_TEST(test_body)
{
	struct message *m = test_message();
	char *s = ses_request_body(m);
	json_t *doc = json_loads(s, JSON_REJECT_DUPLICATES, NULL), *simple;

	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "FromEmailAddress")),
			 "ddns <noreply@example.org>");
	ck_assert_str_eq(
		json_string_value(json_array_get(
			json_object_get(json_object_get(doc, "Destination"), "ToAddresses"), 0)),
		"a@example.org");
	simple = json_object_get(json_object_get(doc, "Content"), "Simple");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(simple, "Subject"), "Data")),
		"Confirm your email address");
	ck_assert_str_eq(
		json_string_value(json_object_get(json_object_get(simple, "Subject"), "Charset")),
		"UTF-8");
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(simple, "Body"), "Text"), "Data")),
			 m->text);
	ck_assert_str_eq(json_string_value(json_object_get(
				 json_object_get(json_object_get(simple, "Body"), "Html"), "Data")),
			 m->html);
	json_decref(doc);
	free(s);
	message_destroy(m);
}
END_TEST

/* ---- a one-shot HTTP server on loopback ----------------------------------------- */

struct server {
	int fd;
	int port;
	const char *answer; /* sent as it is; NULL: never answers (until closed) */
	char request[65536];
	size_t len;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	size_t need = 0;

	if (c < 0)
		return NULL;
	for (;;) {
		struct pollfd p = { c, POLLIN, 0 };
		ssize_t n;
		char *end;

		if (poll(&p, 1, 5000) <= 0)
			break;
		n = read(c, s->request + s->len, sizeof(s->request) - 1 - s->len);
		if (n <= 0)
			break;
		s->len += (size_t)n;
		s->request[s->len] = '\0';
		end = strstr(s->request, "\r\n\r\n");
		if (end && need == 0) {
			const char *cl = strcasestr(s->request, "\r\nContent-Length:");

			need = (size_t)(end + 4 - s->request) +
			       (cl ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (need && s->len >= need)
			break;
	}
	if (s->answer)
		(void)!write(c, s->answer, strlen(s->answer));
	else
		usleep(1500 * 1000); /* past the client's timeout */
	close(c);
	return NULL;
}

static void server_start(struct server *s, const char *answer)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->answer = answer;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->fd, 4), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_finish(struct server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* The value of header @name (case-insensitive) in @req, copied; "" when absent. */
static void header(const char *req, const char *name, char *buf, size_t size)
{
	const char *p = req;
	size_t nlen = strlen(name);

	buf[0] = '\0';
	while ((p = strstr(p, "\r\n")) && p[2] != '\r') {
		p += 2;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1, *e = strstr(v, "\r\n");

			while (*v == ' ')
				v++;
			snprintf(buf, size, "%.*s", (int)(e - v), v);
			return;
		}
	}
}

/*
 * SigV4 with libcurl against AWS's test suite vector "get-vanilla": GET / on
 * example.amazonaws.com, X-Amz-Date 20150830T123600Z, region us-east-1,
 * service "service". The request goes to our socket (CURLOPT_CONNECT_TO
 * keeps the URL's host and port, so Host is example.amazonaws.com), and the
 * Authorization header must be the vector's to the byte.
 */
START_TEST(test_sigv4_get_vanilla)
{
	struct server s;
	struct curl_slist *h = curl_slist_append(NULL, "X-Amz-Date: 20150830T123600Z");
	struct curl_slist *connect_to;
	char to[64], auth[512], host[128];
	CURL *curl = curl_easy_init();

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
	snprintf(to, sizeof(to), "example.amazonaws.com:80:127.0.0.1:%d", s.port);
	connect_to = curl_slist_append(NULL, to);
	curl_easy_setopt(curl, CURLOPT_URL, "http://example.amazonaws.com/");
	curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:service");
	curl_easy_setopt(curl, CURLOPT_USERPWD,
			 "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	ck_assert_int_eq(curl_easy_perform(curl), CURLE_OK);
	server_finish(&s);
	header(s.request, "Host", host, sizeof(host));
	ck_assert_str_eq(host, "example.amazonaws.com");
	header(s.request, "Authorization", auth, sizeof(auth));
	ck_assert_str_eq(auth,
			 "AWS4-HMAC-SHA256 "
			 "Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
			 "SignedHeaders=host;x-amz-date, "
			 "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763f"
			 "bf31");
	curl_slist_free_all(h);
	curl_slist_free_all(connect_to);
	curl_easy_cleanup(curl);
}
END_TEST

static void hex(const unsigned char *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, len, d);
	hex(d, sizeof(d), out);
}

static void hmac(const unsigned char *key, size_t klen, const char *msg, unsigned char out[32])
{
	unsigned int n = 32;

	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg,
				   strlen(msg), out, &n));
}

/*
 * The signature of what ses_send sends, computed here from the request the
 * server received (SigV4 as AWS documents it, HMAC-SHA256 from OpenSSL):
 * canonical request of method, path, empty query, the signed headers (their
 * names from the Authorization header, their values from the request,
 * lowercased and trimmed) and the hash of the body.
 */
static void verify_signature(const char *req, const char *secret, const char *region,
			     const char *service)
{
	char auth[1024], date[32], signed_h[256], cr[8192], crh[65], sts[512], body_hash[65],
		want[65], *p, *path, key0[256], names[256];
	const char *body = strstr(req, "\r\n\r\n") + 4, *sh;
	unsigned char k[32];
	size_t off;

	header(req, "Authorization", auth, sizeof(auth));
	header(req, "X-Amz-Date", date, sizeof(date));
	ck_assert_uint_eq(strlen(date), 16);
	sh = strstr(auth, "SignedHeaders=");
	ck_assert_ptr_nonnull(sh);
	snprintf(signed_h, sizeof(signed_h), "%.*s", (int)strcspn(sh + 14, ","), sh + 14);
	path = strndup(req + strcspn(req, " ") + 1, strcspn(req + strcspn(req, " ") + 1, " "));
	off = (size_t)snprintf(cr, sizeof(cr), "%.*s\n%s\n\n", (int)strcspn(req, " "), req, path);
	free(path);
	snprintf(names, sizeof(names), "%s", signed_h);
	for (char *name = strtok_r(names, ";", &p); name; name = strtok_r(NULL, ";", &p)) {
		char v[1024];

		header(req, name, v, sizeof(v));
		ck_assert_msg(v[0] || strcmp(name, "host") != 0, "no %s", name);
		off += (size_t)snprintf(cr + off, sizeof(cr) - off, "%s:%s\n", name, v);
	}
	sha256_hex(body, strlen(body), body_hash);
	snprintf(cr + off, sizeof(cr) - off, "\n%s\n%s", signed_h, body_hash);
	sha256_hex(cr, strlen(cr), crh);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", date, date,
		 region, service, crh);
	snprintf(key0, sizeof(key0), "AWS4%s", secret);
	{
		char d8[9];

		snprintf(d8, sizeof(d8), "%.8s", date);
		hmac((unsigned char *)key0, strlen(key0), d8, k);
	}
	hmac(k, 32, region, k);
	hmac(k, 32, service, k);
	hmac(k, 32, "aws4_request", k);
	{
		unsigned char sig[32];

		hmac(k, 32, sts, sig);
		hex(sig, 32, want);
	}
	ck_assert_msg(strstr(auth, want) != NULL, "signature of\n%s\nis %s, not in %s", cr, want,
		      auth);
}

/* What ses_send sends: the path, the body, the signed headers, the signature. */
START_TEST(test_send_signed)
{
	struct ses_config c = { .region = "eu-west-1",
				.access_key = "AKIDTEST",
				.secret_key = "s3cr3t/key+x",
				.session_token = "FwoGZXIvYXdzEJr//////////token" };
	struct message *m = test_message();
	struct send_result res;
	struct server s;
	char endpoint[64], auth[1024], v[256];
	CURL *curl = curl_easy_init();
	const char *body;
	json_t *doc;

	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Connection: close\r\n\r\n{\"MessageId\":\"0100abc\"}");
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", s.port);
	c.endpoint = endpoint;
	ck_assert_int_eq(ses_send(curl, &c, m, 5000, &res), 0);
	server_finish(&s);
	ck_assert_msg(res.status == SEND_OK, "%s", res.reason);
	ck_assert_msg(strncmp(s.request, "POST /v2/email/outbound-emails HTTP/1.1\r\n", 41) == 0,
		      "%s", s.request);
	header(s.request, "Content-Type", v, sizeof(v));
	ck_assert_str_eq(v, "application/json");
	header(s.request, "x-amz-security-token", v, sizeof(v));
	ck_assert_str_eq(v, "FwoGZXIvYXdzEJr//////////token");
	header(s.request, "Authorization", auth, sizeof(auth));
	ck_assert_msg(strstr(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") == auth, "%s", auth);
	ck_assert_ptr_nonnull(strstr(auth, "/eu-west-1/ses/aws4_request, "));
	ck_assert_ptr_nonnull(
		strstr(auth, "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "));
	body = strstr(s.request, "\r\n\r\n") + 4;
	doc = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "FromEmailAddress")),
			 "ddns <noreply@example.org>");
	json_decref(doc);
	verify_signature(s.request, "s3cr3t/key+x", "eu-west-1", "ses");
	/* the secret itself never goes over the wire */
	ck_assert_ptr_null(strstr(s.request, "s3cr3t"));
	curl_easy_cleanup(curl);
	message_destroy(m);
}
END_TEST

/* Canned answers of SES (and of no server at all) and the class ses_send gives them. */
static const struct answer_case {
	const char *name;
	const char *answer; /* NULL: the server never answers; "" : nobody listens */
	enum send_status want;
	const char *reason_has;
} answer_cases[] = {
	{ "throttled",
	  "HTTP/1.1 429 Too Many Requests\r\nx-amzn-ErrorType: "
	  "TooManyRequestsException:http://x/\r\n"
	  "Content-Type: application/json\r\nConnection: close\r\n\r\n"
	  "{\"message\":\"Too many requests\"}",
	  SEND_TEMPORARY, "ses: HTTP 429 TooManyRequestsException: Too many requests" },
	{ "rejected",
	  "HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: MessageRejected\r\n"
	  "Content-Type: application/json\r\nConnection: close\r\n\r\n"
	  "{\"message\":\"Email address is not verified.\"}",
	  SEND_PERMANENT, "ses: HTTP 400 MessageRejected: Email address is not verified." },
	{ "suspended, type in the body",
	  "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
	  "Connection: close\r\n\r\n"
	  "{\"__type\":\"com.amazon#AccountSuspendedException\",\"message\":\"Suspended.\"}",
	  SEND_PERMANENT, "AccountSuspendedException: Suspended." },
	{ "unavailable",
	  "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	  SEND_TEMPORARY, "ses: HTTP 503" },
	{ "no answer: timeout", NULL, SEND_TEMPORARY, "ses: Timeout was reached" },
	{ "nobody listens", "", SEND_TEMPORARY, "ses: Couldn't connect to server" },
};

START_TEST(test_send_answers)
{
	const struct answer_case *a = &answer_cases[_i];
	struct ses_config c = { .region = "us-east-1", .access_key = "A", .secret_key = "S" };
	struct message *m = test_message();
	struct send_result res;
	struct server s;
	char endpoint[64];
	CURL *curl = curl_easy_init();

	if (a->answer && !*a->answer) {
		snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:1");
	} else {
		server_start(&s, a->answer);
		snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", s.port);
	}
	c.endpoint = endpoint;
	ck_assert_int_eq(ses_send(curl, &c, m, 500, &res), 0);
	if (!a->answer || *a->answer)
		server_finish(&s);
	ck_assert_msg(res.status == a->want, "%s: %s", a->name, res.reason);
	ck_assert_msg(strstr(res.reason, a->reason_has) != NULL, "%s: %s", a->name, res.reason);
	ck_assert_ptr_null(strstr(res.reason, TOK));
	curl_easy_cleanup(curl);
	message_destroy(m);
}
END_TEST

Suite *make_suite(void)
{
	Suite *s = suite_create("worker_ses");
	TCase *tc = tcase_create("ses");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_classify, 0, sizeof(class_cases) / sizeof(class_cases[0]));
	tcase_add_loop_test(tc, test_error_type, 0, sizeof(type_cases) / sizeof(type_cases[0]));
	tcase_add_loop_test(tc, test_env, 0, sizeof(env_cases) / sizeof(env_cases[0]));
	tcase_add_test(tc, test_body);
	tcase_add_test(tc, test_sigv4_get_vanilla);
	tcase_add_test(tc, test_send_signed);
	tcase_add_loop_test(tc, test_send_answers, 0,
			    sizeof(answer_cases) / sizeof(answer_cases[0]));
	suite_add_tcase(s, tc);
	return s;
}
