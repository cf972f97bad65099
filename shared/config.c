#include "shared/config.h"

#include "shared/log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef DDNS_VERSION
#define DDNS_VERSION "unknown"
#endif

#define CONFIG_LINE_MAX 4096
#define CONFIG_KEYS_MAX 128

/* Where the text of one key came from, for error messages. */
struct source {
	const char *kind; /* "default", "file", "environment", "flag" */
	char where[160];  /* file:line, variable or flag name */
};

/* The text values of one load, before conversion. */
struct texts {
	char *val[CONFIG_KEYS_MAX]; /* owned; NULL: unset */
	struct source src[CONFIG_KEYS_MAX];
};

static void texts_finish(struct texts *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(t->val[i]);
		t->val[i] = NULL;
	}
}

static int texts_set(struct texts *t, size_t i, const char *value, const char *kind,
		     const char *where)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(t->val[i]);
	t->val[i] = copy;
	t->src[i].kind = kind;
	snprintf(t->src[i].where, sizeof(t->src[i].where), "%s", where);
	return 0;
}

const char *config_env_name(const struct config_def *def, const struct config_key *key, char *buf,
			    size_t size)
{
	size_t n;

	if (key->env) {
		snprintf(buf, size, "%s", key->env);
		return buf;
	}
	snprintf(buf, size, "%s_%s", def->env_prefix, key->key);
	n = strlen(def->env_prefix) + 1;
	for (char *p = buf + n; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return buf;
}

/* "database_url" → "database-url" */
static void flag_name(const struct config_key *key, char *buf, size_t size)
{
	snprintf(buf, size, "%s", key->key);
	for (char *p = buf; *p; p++)
		if (*p == '_')
			*p = '-';
}

static const struct config_key *find_flag(const struct config_def *def, const char *name,
					  size_t len, size_t *ret_i)
{
	char flag[64];

	for (size_t i = 0; i < def->n_keys; i++) {
		flag_name(&def->keys[i], flag, sizeof(flag));
		if (strlen(flag) == len && strncmp(flag, name, len) == 0) {
			*ret_i = i;
			return &def->keys[i];
		}
	}
	return NULL;
}

int config_parse_duration(const char *s, long long *ret_ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	unsigned long long n = 0;
	const char *p = s;

	if (strcmp(s, "0") == 0) {
		*ret_ms = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if (n > (unsigned long long)LLONG_MAX / 3600000)
			return -ERANGE;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].unit) == 0) {
			*ret_ms = (long long)n * units[i].ms;
			return 0;
		}
	return -EINVAL;
}

static int parse_bool(const char *s, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_int(const char *s, long long *ret)
{
	char *end;
	long long v;

	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static const char *type_name(enum config_type type)
{
	switch (type) {
	case CONFIG_STR:
		return "string";
	case CONFIG_INT:
		return "integer";
	case CONFIG_BOOL:
		return "boolean";
	case CONFIG_DURATION:
		return "duration";
	}
	return "?";
}

/* One line naming the key, where the value came from and what is wrong. */
static void report(const struct config_def *def, const struct config_key *key,
		   const struct source *src, const char *value, const char *reason)
{
	if (key->secret || !value)
		fprintf(stderr, "%s: invalid value for %s (%s %s): %s\n", def->prog, key->key,
			src->kind, src->where, reason);
	else
		fprintf(stderr, "%s: invalid value \"%s\" for %s (%s %s): %s\n", def->prog, value,
			key->key, src->kind, src->where, reason);
}

static bool in_range(const struct config_key *key, long long v)
{
	return (key->min == 0 && key->max == 0) || (v >= key->min && v <= key->max);
}

/* Converts one text into the field at key->offset of @cfg. */
static int convert(const struct config_def *def, const struct config_key *key, void *cfg,
		   const char *text, const struct source *src)
{
	char *field = (char *)cfg + key->offset;
	const char *reason = NULL;
	char why[128];
	long long v = 0;
	bool b;
	int r;

	if (key->check && text && key->check(text, &reason) < 0) {
		report(def, key, src, text, reason ? reason : "not accepted");
		return -EINVAL;
	}
	switch (key->type) {
	case CONFIG_STR: {
		char *copy = NULL;

		if (text && !(copy = strdup(text)))
			return -ENOMEM;
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case CONFIG_BOOL:
		if (!text) {
			*(bool *)field = false;
			return 0;
		}
		if (parse_bool(text, &b) < 0) {
			report(def, key, src, text, "expected true or false");
			return -EINVAL;
		}
		*(bool *)field = b;
		return 0;
	case CONFIG_INT:
	case CONFIG_DURATION:
		if (text) {
			r = key->type == CONFIG_INT ? parse_int(text, &v)
						    : config_parse_duration(text, &v);
			if (r < 0) {
				report(def, key, src, text,
				       key->type == CONFIG_INT
					       ? "expected an integer"
					       : "expected a duration such as 250ms, 2s, 5m or 1h");
				return -EINVAL;
			}
		}
		if (!in_range(key, v)) {
			if (key->type == CONFIG_INT)
				snprintf(why, sizeof(why), "expected an integer from %lld to %lld",
					 key->min, key->max);
			else
				snprintf(why, sizeof(why),
					 "expected a duration from %lldms to %lldms", key->min,
					 key->max);
			report(def, key, src, text, why);
			return -EINVAL;
		}
		*(long long *)field = v;
		return 0;
	}
	return -EINVAL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int read_file(const struct config_def *def, const char *path, struct texts *t)
{
	char line[CONFIG_LINE_MAX + 2];
	char where[96];
	unsigned lineno = 0;
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f) {
		fprintf(stderr, "%s: could not open config file \"%s\": %s\n", def->prog, path,
			strerror(errno));
		return -EINVAL;
	}
	while (fgets(line, sizeof(line), f)) {
		char *key, *value, *eq;
		size_t i, len = strlen(line);

		lineno++;
		if (len > CONFIG_LINE_MAX && line[len - 1] != '\n') {
			fprintf(stderr, "%s: config file \"%s\" line %u: line too long\n",
				def->prog, path, lineno);
			r = -EINVAL;
			goto out;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr, "%s: config file \"%s\" line %u: expected key = value\n",
				def->prog, path, lineno);
			r = -EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		len = strlen(value);
		if (len >= 2 && (value[0] == '"' || value[0] == '\'') &&
		    value[len - 1] == value[0]) {
			value[len - 1] = '\0';
			value++;
		}
		for (i = 0; i < def->n_keys; i++)
			if (strcmp(def->keys[i].key, key) == 0)
				break;
		if (i == def->n_keys) {
			fprintf(stderr, "%s: config file \"%s\" line %u: unknown key \"%s\"\n",
				def->prog, path, lineno, key);
			r = -EINVAL;
			goto out;
		}
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		r = texts_set(t, i, value, "file", where);
		if (r < 0)
			goto out;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: could not read config file \"%s\"\n", def->prog, path);
		r = -EINVAL;
	}
out:
	fclose(f);
	return r;
}

/* Finds --config FILE / --config=FILE in argv, before the first positional argument. */
static const char *find_config_flag(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0 || strncmp(argv[i], "--", 2) != 0)
			break;
		if (strncmp(argv[i], "--config=", 9) == 0)
			return argv[i] + 9;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

/*
 * Applies the flags of @argv to @t. Returns 0 with *ret_argi set, 1 for
 * --help/--version (printed), -EINVAL after reporting.
 */
static int read_flags(const struct config_def *def, int argc, char **argv, struct texts *t,
		      int *ret_argi)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *value, *eq;
		const struct config_key *key;
		bool negated = false;
		size_t k, len;
		int r;

		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
			if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "-h") != 0) {
				fprintf(stderr, "%s: unknown option %s (see --help)\n", def->prog,
					arg);
				return -EINVAL;
			}
			if (strcmp(arg, "-h") == 0) {
				config_print_help(def, stdout);
				return 1;
			}
			break; /* first positional argument */
		}
		if (strcmp(arg, "--help") == 0) {
			config_print_help(def, stdout);
			return 1;
		}
		if (strcmp(arg, "--help-markdown") == 0) {
			config_print_markdown(def, stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("%s %s\n", def->prog, DDNS_VERSION);
			return 1;
		}
		name = arg + 2;
		eq = strchr(name, '=');
		len = eq ? (size_t)(eq - name) : strlen(name);
		if (len == 6 && strncmp(name, "config", 6) == 0) {
			if (!eq)
				i++; /* read before, by find_config_flag */
			if (i >= argc) {
				fprintf(stderr, "%s: option --config needs a file name\n",
					def->prog);
				return -EINVAL;
			}
			continue;
		}
		key = find_flag(def, name, len, &k);
		if (!key && len > 3 && strncmp(name, "no-", 3) == 0) {
			key = find_flag(def, name + 3, len - 3, &k);
			if (key && key->type == CONFIG_BOOL && !eq)
				negated = true;
			else
				key = NULL;
		}
		if (!key) {
			fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", def->prog,
				(int)len, name);
			return -EINVAL;
		}
		if (eq) {
			value = eq + 1;
		} else if (key->type == CONFIG_BOOL) {
			value = negated ? "false" : "true";
		} else {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: option --%s needs a value\n", def->prog, name);
				return -EINVAL;
			}
			value = argv[++i];
		}
		char where[80];
		snprintf(where, sizeof(where), "--%.*s", (int)len, name);
		r = texts_set(t, k, value, "flag", where);
		if (r < 0)
			return r;
	}
	*ret_argi = i;
	return 0;
}

/* Loads all sources into @cfg (zeroed by the caller). */
static int load(const struct config_def *def, void *cfg, int argc, char **argv, int *ret_argi)
{
	struct texts t;
	char env_name[128], cfg_env[128];
	const char *path;
	int argi = argc;
	int r;

	if (def->n_keys > CONFIG_KEYS_MAX)
		return -E2BIG;
	memset(&t, 0, sizeof(t));
	for (size_t i = 0; i < def->n_keys; i++) {
		t.src[i].kind = "default";
		if (def->keys[i].def) {
			r = texts_set(&t, i, def->keys[i].def, "default", "");
			if (r < 0)
				goto out;
		}
	}

	snprintf(cfg_env, sizeof(cfg_env), "%s_CONFIG", def->env_prefix);
	path = find_config_flag(argc, argv);
	if (!path)
		path = getenv(cfg_env);
	if (path && *path) {
		r = read_file(def, path, &t);
		if (r < 0)
			goto out;
	}

	for (size_t i = 0; i < def->n_keys; i++) {
		const char *v =
			getenv(config_env_name(def, &def->keys[i], env_name, sizeof(env_name)));
		if (v) {
			r = texts_set(&t, i, v, "environment", env_name);
			if (r < 0)
				goto out;
		}
	}

	r = read_flags(def, argc, argv, &t, &argi);
	if (r != 0)
		goto out;

	if (!def->args_usage && argi != argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\" (see --help)\n", def->prog,
			argv[argi]);
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < def->n_keys; i++) {
		r = convert(def, &def->keys[i], cfg, t.val[i], &t.src[i]);
		if (r < 0) {
			config_free(def, cfg);
			goto out;
		}
	}
	*ret_argi = argi;
out:
	texts_finish(&t, def->n_keys);
	if (r == -ENOMEM)
		fprintf(stderr, "%s: out of memory reading the configuration\n", def->prog);
	return r < 0 && r != -ENOMEM ? -EINVAL : r;
}

int config_load(const struct config_def *def, void *cfg, int argc, char **argv, int *ret_argi)
{
	return load(def, cfg, argc, argv, ret_argi);
}

static bool field_equal(const struct config_key *key, const void *a, const void *b)
{
	const char *fa = (const char *)a + key->offset, *fb = (const char *)b + key->offset;
	const char *sa, *sb;

	switch (key->type) {
	case CONFIG_STR:
		sa = *(char *const *)fa;
		sb = *(char *const *)fb;
		return (!sa && !sb) || (sa && sb && strcmp(sa, sb) == 0);
	case CONFIG_BOOL:
		return *(const bool *)fa == *(const bool *)fb;
	case CONFIG_INT:
	case CONFIG_DURATION:
		return *(const long long *)fa == *(const long long *)fb;
	}
	return false;
}

int config_reload(const struct config_def *def, void *cfg, int argc, char **argv)
{
	void *fresh = calloc(1, def->size);
	int argi, r;

	if (!fresh)
		return -ENOMEM;
	r = load(def, fresh, argc, argv, &argi);
	if (r != 0) {
		free(fresh);
		return r < 0 ? r : -EINVAL;
	}
	for (size_t i = 0; i < def->n_keys; i++) {
		const struct config_key *key = &def->keys[i];
		char *dst = (char *)cfg + key->offset, *src = (char *)fresh + key->offset;

		if (field_equal(key, cfg, fresh))
			continue;
		if (!key->reloadable) {
			log_warn(NULL, "configuration key %s changed but needs a restart, ignoring",
				 key->key);
			continue;
		}
		log_info(NULL, "configuration key %s reloaded", key->key);
		if (key->type == CONFIG_STR) {
			free(*(char **)dst);
			*(char **)dst = *(char **)src;
			*(char **)src = NULL;
		} else if (key->type == CONFIG_BOOL) {
			*(bool *)dst = *(bool *)src;
		} else {
			*(long long *)dst = *(long long *)src;
		}
	}
	config_free(def, fresh);
	free(fresh);
	return 0;
}

void config_free(const struct config_def *def, void *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < def->n_keys; i++)
		if (def->keys[i].type == CONFIG_STR) {
			char **field = (char **)((char *)cfg + def->keys[i].offset);
			free(*field);
			*field = NULL;
		}
}

static const char *shown_default(const struct config_key *key)
{
	if (key->secret && key->def)
		return "(secret)";
	if (!key->def || !*key->def)
		return "(none)";
	return key->def;
}

void config_print_help(const struct config_def *def, FILE *out)
{
	char env_name[128], flag[64];

	fprintf(out, "Usage: %s [OPTIONS]%s%s\n%s\n\n", def->prog, def->args_usage ? " " : "",
		def->args_usage ? def->args_usage : "", def->summary);
	fprintf(out, "Options (flag, environment variable, default); flags override the\n"
		     "environment, which overrides the config file, which overrides defaults:\n\n");
	for (size_t i = 0; i < def->n_keys; i++) {
		const struct config_key *key = &def->keys[i];

		flag_name(key, flag, sizeof(flag));
		fprintf(out, "  --%s%s\n      %s\n      env %s, default %s%s\n", flag,
			key->type == CONFIG_BOOL ? "[=BOOL]" : "=VALUE", key->help,
			config_env_name(def, key, env_name, sizeof(env_name)), shown_default(key),
			key->reloadable ? ", reloadable (SIGHUP)" : "");
	}
	fprintf(out,
		"  --config=FILE\n      read key = value lines (keys as above, with '_')\n"
		"      env %s_CONFIG\n"
		"  --help, --help-markdown, --version\n",
		def->env_prefix);
}

void config_print_markdown(const struct config_def *def, FILE *out)
{
	char env_name[128], flag[64];

	fprintf(out, "| key | flag | environment | type | default | reloadable | meaning |\n");
	fprintf(out, "|---|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < def->n_keys; i++) {
		const struct config_key *key = &def->keys[i];

		flag_name(key, flag, sizeof(flag));
		fprintf(out, "| `%s` | `--%s` | `%s` | %s | `%s` | %s | %s |\n", key->key, flag,
			config_env_name(def, key, env_name, sizeof(env_name)), type_name(key->type),
			shown_default(key), key->reloadable ? "yes" : "no", key->help);
	}
}
