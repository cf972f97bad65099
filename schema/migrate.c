#include "schema/migrate.h"

#include "shared/dnsname.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIGRATION_MAX_BYTES   (16 * 1024 * 1024)
#define MIGRATION_MAX_VERSION 999999

/* ---- files -------------------------------------------------------------- */

void migration_set_finish(struct migration_set *set)
{
	size_t i;

	if (!set)
		return;
	for (i = 0; i < set->n; i++) {
		free(set->items[i].file);
		free(set->items[i].name);
		free(set->items[i].sql);
	}
	free(set->items);
	set->items = NULL;
	set->n = 0;
}

/* "0001_init.sql" → version 1, name "init"; false for any other shape. */
static bool parse_file_name(const char *file, int *ret_version, char **ret_name)
{
	size_t len = strlen(file), digits = strspn(file, "0123456789"), i;
	long v;

	if (digits == 0 || digits > 6 || len < digits + 6 || file[digits] != '_' ||
	    strcmp(file + len - 4, ".sql") != 0)
		return false;
	for (i = digits + 1; i < len - 4; i++)
		if (!islower((unsigned char)file[i]) && !isdigit((unsigned char)file[i]) &&
		    file[i] != '_' && file[i] != '-')
			return false;
	v = strtol(file, NULL, 10);
	if (v <= 0 || v > MIGRATION_MAX_VERSION)
		return false;
	*ret_name = strndup(file + digits + 1, len - digits - 5);
	if (!*ret_name)
		return false;
	*ret_version = (int)v;
	return true;
}

static int read_file(const char *path, char **ret_text, size_t *ret_len, struct db_error *err)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0, n;
	int r = 0;

	if (!f)
		return db_error_set(err, -errno, "could not open migration \"%s\": %s", path,
				    strerror(errno));
	for (;;) {
		if (cap - len < 4096) {
			char *t;

			cap = cap ? cap * 2 : 8192;
			t = realloc(text, cap + 1);
			if (!t) {
				r = db_error_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			text = t;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (len > MIGRATION_MAX_BYTES) {
			r = db_error_set(err, -EFBIG, "migration \"%s\" is larger than %d bytes",
					 path, MIGRATION_MAX_BYTES);
			goto out;
		}
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		r = db_error_set(err, -EIO, "could not read migration \"%s\"", path);
		goto out;
	}
	if (memchr(text, '\0', len)) {
		r = db_error_set(err, -EINVAL, "migration \"%s\" contains a NUL byte", path);
		goto out;
	}
	text[len] = '\0';
	*ret_text = text;
	*ret_len = len;
	text = NULL;
out:
	free(text);
	fclose(f);
	return r;
}

static int sha256_hex(const char *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;

	if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
		return -EIO;
	for (i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

int migration_set_load(const char *dir, struct migration_set *ret_set, struct db_error *err)
{
	struct migration_set set = { 0 };
	size_t cap = 0, len = 0, i;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d)
		return db_error_set(err, errno == ENOENT ? -ENOENT : -errno,
				    "could not open migrations directory \"%s\": %s", dir,
				    strerror(errno));
	while ((de = readdir(d))) {
		struct migration *m;
		char *path = NULL;
		size_t flen = strlen(de->d_name);

		if (de->d_name[0] == '.' || flen < 4 || strcmp(de->d_name + flen - 4, ".sql") != 0)
			continue;
		if (set.n == cap) {
			struct migration *t;

			cap = cap ? cap * 2 : 16;
			t = realloc(set.items, cap * sizeof(*t));
			if (!t) {
				r = db_error_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			set.items = t;
		}
		m = &set.items[set.n];
		memset(m, 0, sizeof(*m));
		if (!parse_file_name(de->d_name, &m->version, &m->name)) {
			r = db_error_set(
				err, -EINVAL,
				"migration file name \"%s\" in \"%s\" is not NNNN_name.sql "
				"(lower case letters, digits, '_' or '-')",
				de->d_name, dir);
			goto out;
		}
		set.n++;
		m->file = strdup(de->d_name);
		if (!m->file || asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
			r = db_error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		r = read_file(path, &m->sql, &len, err);
		free(path);
		if (r < 0)
			goto out;
		if (sha256_hex(m->sql, len, m->checksum) < 0) {
			r = db_error_set(err, -EIO, "could not compute the checksum of \"%s\"",
					 m->file);
			goto out;
		}
	}
	if (set.n > 1)
		qsort(set.items, set.n, sizeof(*set.items), by_version);
	for (i = 1; i < set.n; i++)
		if (set.items[i].version == set.items[i - 1].version) {
			r = db_error_set(err, -EINVAL,
					 "migrations \"%s\" and \"%s\" have the same version",
					 set.items[i - 1].file, set.items[i].file);
			goto out;
		}
	*ret_set = set;
	set = (struct migration_set){ 0 };
out:
	migration_set_finish(&set);
	closedir(d);
	return r;
}

/* ---- applied state ------------------------------------------------------ */

struct applied {
	int version;
	char name[128];
	char checksum[65];
	char applied_at[32];
};

static const char create_table_sql[] = "CREATE TABLE IF NOT EXISTS schema_migrations ("
				       " version integer PRIMARY KEY,"
				       " name text NOT NULL,"
				       " checksum text NOT NULL,"
				       " applied_at timestamptz NOT NULL DEFAULT now())";

/* Reads schema_migrations (none when it does not exist yet) into a new array. */
static int applied_load(PGconn *conn, struct applied **ret_list, size_t *ret_n,
			struct db_error *err)
{
	PGresult *res = NULL;
	struct applied *list = NULL;
	int r, i, n;

	r = db_exec(conn, "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL, &res,
		    err);
	if (r < 0)
		return r;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		PQclear(res);
		*ret_list = NULL;
		*ret_n = 0;
		return 0;
	}
	PQclear(res);
	r = db_exec(conn,
		    "SELECT version, name, checksum,"
		    " to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
		    " FROM schema_migrations ORDER BY version",
		    0, NULL, &res, err);
	if (r < 0)
		return r;
	n = PQntuples(res);
	list = calloc((size_t)n + 1, sizeof(*list));
	if (!list) {
		PQclear(res);
		return db_error_set(err, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		list[i].version = atoi(PQgetvalue(res, i, 0));
		snprintf(list[i].name, sizeof(list[i].name), "%s", PQgetvalue(res, i, 1));
		snprintf(list[i].checksum, sizeof(list[i].checksum), "%s", PQgetvalue(res, i, 2));
		snprintf(list[i].applied_at, sizeof(list[i].applied_at), "%s",
			 PQgetvalue(res, i, 3));
	}
	PQclear(res);
	*ret_list = list;
	*ret_n = (size_t)n;
	return 0;
}

static const struct migration *find_file(const struct migration_set *set, int version)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->items[i].version == version)
			return &set->items[i];
	return NULL;
}

static const struct applied *find_applied(const struct applied *list, size_t n, int version)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].version == version)
			return &list[i];
	return NULL;
}

/* Every applied migration must still have its file, unchanged. */
static int verify(const struct migration_set *set, const struct applied *list, size_t n,
		  const char *dir, struct db_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct migration *m = find_file(set, list[i].version);

		if (!m)
			return db_error_set(err, -ENOENT,
					    "migration %04d_%s.sql was applied but its file is "
					    "missing from \"%s\"",
					    list[i].version, list[i].name, dir);
		if (strcmp(m->checksum, list[i].checksum) != 0)
			return db_error_set(err, -EBADMSG,
					    "migration \"%s\" was changed after it was applied "
					    "(checksum %.12s..., applied %.12s...); restore it and "
					    "add a new migration instead",
					    m->file, m->checksum, list[i].checksum);
	}
	for (i = 0; i < set->n; i++)
		if (n > 0 && set->items[i].version < list[n - 1].version &&
		    !find_applied(list, n, set->items[i].version))
			return db_error_set(err, -EINVAL,
					    "migration \"%s\" is older than the latest applied "
					    "migration %04d; give it a higher number",
					    set->items[i].file, list[n - 1].version);
	return 0;
}

static int apply_one(PGconn *conn, const struct migration *m, struct db_error *err)
{
	char version[16];
	const char *params[3] = { version, m->name, m->checksum };
	struct db_error e;
	int r;

	snprintf(version, sizeof(version), "%d", m->version);
	r = db_exec(conn, "BEGIN", 0, NULL, NULL, &e);
	if (r < 0)
		goto fail;
	r = db_exec_script(conn, m->sql, &e);
	if (r < 0)
		goto fail;
	/* a COMMIT or ROLLBACK in the file would record it as applied outside
	 * the transaction, whatever became of its changes */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		r = db_error_set(&e, -EINVAL,
				 "it ended its transaction; remove BEGIN/COMMIT/ROLLBACK from the "
				 "file (what ran before a COMMIT in it may be committed)");
		goto fail;
	}
	r = db_exec(conn,
		    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
		    3, params, NULL, &e);
	if (r < 0)
		goto fail;
	r = db_exec(conn, "COMMIT", 0, NULL, NULL, &e);
	if (r < 0)
		goto fail;
	return 0;
fail:
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
	db_error_set(err, r, "could not apply migration \"%s\": %s", m->file, e.msg);
	if (err) {
		memcpy(err->sqlstate, e.sqlstate, sizeof(err->sqlstate));
		memcpy(err->constraint, e.constraint, sizeof(err->constraint));
	}
	return r;
}

int migrate_up(PGconn *conn, const char *dir, FILE *out, struct db_error *err)
{
	const char *lock_params[1] = { MIGRATE_LOCK_KEY };
	struct migration_set set = { 0 };
	struct applied *list = NULL;
	size_t n_applied = 0, i, n_done = 0;
	PGresult *res = NULL;
	bool locked = false;
	int r;

	r = migration_set_load(dir, &set, err);
	if (r < 0)
		return r;

	r = db_exec(conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, lock_params, &res, err);
	if (r < 0)
		goto out;
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		fprintf(out, "waiting for another ddns-migrate to finish\n");
		fflush(out);
		r = db_exec(conn, "SELECT pg_advisory_lock($1::bigint)", 1, lock_params, NULL, err);
		if (r < 0)
			goto out;
	}
	locked = true;

	r = db_exec(conn, create_table_sql, 0, NULL, NULL, err);
	if (r < 0)
		goto out;
	r = applied_load(conn, &list, &n_applied, err);
	if (r < 0)
		goto out;
	r = verify(&set, list, n_applied, dir, err);
	if (r < 0)
		goto out;

	for (i = 0; i < set.n; i++) {
		if (find_applied(list, n_applied, set.items[i].version))
			continue;
		r = apply_one(conn, &set.items[i], err);
		if (r < 0)
			goto out;
		fprintf(out, "applied %s\n", set.items[i].file);
		n_done++;
	}
	if (n_done == 0)
		fprintf(out, "nothing to apply, %zu migrations applied\n", n_applied);
	else
		fprintf(out, "applied %zu migrations, %zu in total\n", n_done, n_applied + n_done);
out:
	if (locked)
		(void)db_exec(conn, "SELECT pg_advisory_unlock($1::bigint)", 1, lock_params, NULL,
			      NULL);
	PQclear(res);
	free(list);
	migration_set_finish(&set);
	return r;
}

int migrate_status(PGconn *conn, const char *dir, FILE *out, struct db_error *err)
{
	struct migration_set set = { 0 };
	struct applied *list = NULL;
	size_t n_applied = 0, i, j, n_bad = 0, n_pending = 0;
	int r;

	r = migration_set_load(dir, &set, err);
	if (r < 0)
		return r;
	r = applied_load(conn, &list, &n_applied, err);
	if (r < 0)
		goto out;

	/* merge the two lists, both sorted by version */
	for (i = 0, j = 0; i < set.n || j < n_applied;) {
		const struct migration *m = i < set.n ? &set.items[i] : NULL;
		const struct applied *a = j < n_applied ? &list[j] : NULL;

		if (a && (!m || a->version < m->version)) {
			fprintf(out, "%04d_%s.sql  applied %s, FILE MISSING\n", a->version, a->name,
				a->applied_at);
			n_bad++;
			j++;
		} else if (!a || m->version < a->version) {
			fprintf(out, "%s  pending\n", m->file);
			n_pending++;
			i++;
		} else {
			if (strcmp(m->checksum, a->checksum) != 0) {
				fprintf(out, "%s  applied %s, CHANGED (checksum mismatch)\n",
					m->file, a->applied_at);
				n_bad++;
			} else {
				fprintf(out, "%s  applied %s\n", m->file, a->applied_at);
			}
			i++;
			j++;
		}
	}
	fprintf(out, "%zu applied, %zu pending\n", n_applied, n_pending);
	if (n_bad > 0)
		r = db_error_set(err, -EBADMSG,
				 "%zu applied migrations do not match their files in \"%s\"", n_bad,
				 dir);
out:
	free(list);
	migration_set_finish(&set);
	return r;
}

/* ---- seed --------------------------------------------------------------- */

#define NAME_MAX_LEN 256

int seed_name_normalize(const char *name, size_t len, char *buf, size_t size)
{
	char in[DNSNAME_SIZE], out[DNSNAME_SIZE];

	if (len == 0 || len >= sizeof(in))
		return -EINVAL;
	memcpy(in, name, len);
	in[len] = '\0';
	if (dnsname_normalize(in, DNSNAME_HOSTNAME, out, NULL) < 0 || strlen(out) >= size)
		return -EINVAL;
	memcpy(buf, out, strlen(out) + 1);
	return 0;
}

const char *seed_next_item(const char **p, size_t *ret_len)
{
	const char *s = *p + strspn(*p, ", \t\n");
	size_t len = strcspn(s, ", \t\n");

	if (len == 0)
		return NULL;
	*p = s + len;
	*ret_len = len;
	return s;
}

int seed_parse_ns(const char *item, size_t len, struct seed_ns *ns)
{
	const char *eq = memchr(item, '=', len);
	size_t nlen = eq ? (size_t)(eq - item) : len;
	unsigned char bin[sizeof(struct in6_addr)];
	char addr[INET6_ADDRSTRLEN + 1];
	size_t alen;

	memset(ns, 0, sizeof(*ns));
	if (seed_name_normalize(item, nlen, ns->name, sizeof(ns->name)) < 0)
		return -EINVAL;
	if (!eq)
		return 0;
	alen = len - nlen - 1;
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, eq + 1, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, bin) == 1) {
		ns->type = "A";
		inet_ntop(AF_INET, bin, ns->addr, sizeof(ns->addr));
	} else if (inet_pton(AF_INET6, addr, bin) == 1) {
		ns->type = "AAAA";
		inet_ntop(AF_INET6, bin, ns->addr, sizeof(ns->addr));
	} else {
		return -EINVAL;
	}
	return 0;
}

int seed_check_zones(const char *value, const char **ret_reason)
{
	char buf[NAME_MAX_LEN];
	const char *p = value, *item;
	size_t len;
	int n = 0;

	while ((item = seed_next_item(&p, &len))) {
		if (seed_name_normalize(item, len, buf, sizeof(buf)) < 0) {
			*ret_reason = "expected domain names such as \"dyn.example.net.\"";
			return -EINVAL;
		}
		n++;
	}
	if (n == 0) {
		*ret_reason = "expected at least one zone";
		return -EINVAL;
	}
	return 0;
}

int seed_check_ns(const char *value, const char **ret_reason)
{
	struct seed_ns ns;
	const char *p = value, *item;
	size_t len;
	int n = 0;

	while ((item = seed_next_item(&p, &len))) {
		if (seed_parse_ns(item, len, &ns) < 0) {
			*ret_reason = "expected NAME or NAME=ADDRESS, comma separated, such as "
				      "\"ns1.dyn.example.net.=192.0.2.1\"";
			return -EINVAL;
		}
		n++;
	}
	if (n == 0) {
		*ret_reason = "expected at least one nameserver";
		return -EINVAL;
	}
	return 0;
}

/* "hostmaster@example.net" or "hostmaster.example.net." → the SOA RNAME form. */
static int hostmaster_normalize(const char *value, char *buf, size_t size)
{
	const char *at = strchr(value, '@');
	char tmp[NAME_MAX_LEN];

	if (!at)
		return seed_name_normalize(value, strlen(value), buf, size);
	if (at == value || memchr(value, '.', (size_t)(at - value)) || strlen(value) >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, value, strlen(value) + 1);
	tmp[at - value] = '.';
	return seed_name_normalize(tmp, strlen(tmp), buf, size);
}

int seed_check_hostmaster(const char *value, const char **ret_reason)
{
	char buf[NAME_MAX_LEN];

	if (!*value || hostmaster_normalize(value, buf, sizeof(buf)) == 0)
		return 0;
	*ret_reason = "expected a mailbox as a name (\"hostmaster.example.net.\") or an address "
		      "without dots before the @";
	return -EINVAL;
}

static bool in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	return n == z ? strcmp(name, zone) == 0
		      : n > z && name[n - z - 1] == '.' && strcmp(name + n - z, zone) == 0;
}

/* Upserts one operator record; *ret_changed tells whether a row was written. */
static int seed_record(PGconn *conn, const char *zone_id, const char *name, const char *type,
		       const char *content, const char *ttl, bool *ret_changed,
		       struct db_error *err)
{
	const char *params[5] = { zone_id, name, type, content, ttl };
	PGresult *res = NULL;
	int r;

	r = db_exec(conn,
		    "INSERT INTO records (zone_id, domain_id, name, type, content, ttl)"
		    " VALUES ($1, NULL, $2, $3, $4, $5)"
		    " ON CONFLICT (name, type, content) DO UPDATE SET ttl = EXCLUDED.ttl"
		    " WHERE records.domain_id IS NULL AND records.zone_id = EXCLUDED.zone_id"
		    " AND records.ttl <> EXCLUDED.ttl"
		    " RETURNING id",
		    5, params, &res, err);
	if (r < 0)
		return r;
	*ret_changed = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

int seed_zone_ns(PGconn *conn, const char *zone_id, const char *zone, const struct seed_ns *ns,
		 size_t n_ns, const char *ttl, const char *no_address_hint, FILE *out,
		 size_t *ret_written, size_t *ret_glue, struct db_error *err)
{
	size_t written = 0, glue = 0;
	bool changed;
	int r;

	for (size_t i = 0; i < n_ns; i++) {
		r = seed_record(conn, zone_id, zone, "NS", ns[i].name, ttl, &changed, err);
		if (r < 0)
			return r;
		written += changed;
		if (!in_zone(ns[i].name, zone)) {
			if (ns[i].type)
				fprintf(out,
					"zone %s: ignoring the address of nameserver %s, which is "
					"outside the zone\n",
					zone, ns[i].name);
			continue;
		}
		if (!ns[i].type) {
			fprintf(out,
				"zone %s: warning: nameserver %s is inside the zone but has no "
				"address (%s)\n",
				zone, ns[i].name, no_address_hint);
			continue;
		}
		r = seed_record(conn, zone_id, ns[i].name, ns[i].type, ns[i].addr, ttl, &changed,
				err);
		if (r < 0)
			return r;
		written += changed;
		glue += changed;
	}
	if (ret_written)
		*ret_written = written;
	if (ret_glue)
		*ret_glue = glue;
	return 0;
}

static int seed_zone(PGconn *conn, const struct seed_config *cfg, const char *zone,
		     const struct seed_ns *ns, size_t n_ns, FILE *out, struct db_error *err)
{
	char rname[NAME_MAX_LEN], refresh[24], retry[24], expire[24], minimum[24], ttl[24];
	const char *params[7] = { zone, ns[0].name, rname, refresh, retry, expire, minimum };
	const char *id_param[1] = { zone };
	PGresult *res = NULL;
	char zone_id[24];
	size_t n_written = 0;
	int r;

	if (cfg->zone_hostmaster && *cfg->zone_hostmaster) {
		if (hostmaster_normalize(cfg->zone_hostmaster, rname, sizeof(rname)) < 0)
			return db_error_set(err, -EINVAL, "invalid zone hostmaster \"%s\"",
					    cfg->zone_hostmaster);
	} else if (snprintf(rname, sizeof(rname), "hostmaster.%s", zone) >= (int)sizeof(rname)) {
		return db_error_set(err, -EINVAL, "zone name \"%s\" is too long", zone);
	}
	snprintf(refresh, sizeof(refresh), "%lld", cfg->refresh);
	snprintf(retry, sizeof(retry), "%lld", cfg->retry);
	snprintf(expire, sizeof(expire), "%lld", cfg->expire);
	snprintf(minimum, sizeof(minimum), "%lld", cfg->minimum);
	snprintf(ttl, sizeof(ttl), "%lld", cfg->ns_ttl);

	r = db_exec(conn,
		    "INSERT INTO zones (name, kind, mname, rname, serial, refresh, retry, expire,"
		    " minimum)"
		    " VALUES ($1, 'base', $2, $3,"
		    " to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')::bigint * 100,"
		    " $4, $5, $6, $7)"
		    " ON CONFLICT (name) DO UPDATE SET mname = EXCLUDED.mname,"
		    " rname = EXCLUDED.rname, refresh = EXCLUDED.refresh, retry = EXCLUDED.retry,"
		    " expire = EXCLUDED.expire, minimum = EXCLUDED.minimum"
		    " WHERE (zones.mname, zones.rname, zones.refresh, zones.retry, zones.expire,"
		    " zones.minimum) IS DISTINCT FROM (EXCLUDED.mname, EXCLUDED.rname,"
		    " EXCLUDED.refresh, EXCLUDED.retry, EXCLUDED.expire, EXCLUDED.minimum)"
		    " RETURNING (xmax = 0)",
		    7, params, &res, err);
	if (r < 0)
		return r;
	fprintf(out, "zone %s: %s\n", zone,
		PQntuples(res) == 0                       ? "unchanged"
		: strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? "created"
							  : "updated");
	PQclear(res);
	res = NULL;

	r = db_exec(conn, "SELECT id FROM zones WHERE name = $1", 1, id_param, &res, err);
	if (r < 0)
		return r;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return db_error_set(err, -EIO, "zone \"%s\" vanished while seeding", zone);
	}
	snprintf(zone_id, sizeof(zone_id), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	r = seed_zone_ns(conn, zone_id, zone, ns, n_ns, ttl, "give it as NAME=ADDRESS", out,
			 &n_written, NULL, err);
	if (r < 0)
		return r;
	fprintf(out, "zone %s: %zu records written\n", zone, n_written);
	return 0;
}

int migrate_seed(PGconn *conn, const struct seed_config *cfg, FILE *out, struct db_error *err)
{
	struct seed_ns ns[16];
	char zone[NAME_MAX_LEN];
	const char *p, *item;
	size_t len, n_ns = 0;
	struct db_error e;
	int r;

	for (p = cfg->zone_ns ? cfg->zone_ns : ""; (item = seed_next_item(&p, &len));) {
		if (n_ns == sizeof(ns) / sizeof(ns[0]))
			return db_error_set(err, -EINVAL, "more than %zu zone nameservers",
					    sizeof(ns) / sizeof(ns[0]));
		if (seed_parse_ns(item, len, &ns[n_ns]) < 0)
			return db_error_set(err, -EINVAL, "invalid zone nameserver \"%.*s\"",
					    (int)len, item);
		n_ns++;
	}
	if (n_ns == 0)
		return db_error_set(err, -EINVAL, "no zone nameservers given");
	p = cfg->base_zones ? cfg->base_zones : "";
	if (!seed_next_item(&p, &len))
		return db_error_set(err, -EINVAL, "no base zones given");

	r = db_exec(conn, "BEGIN", 0, NULL, NULL, err);
	if (r < 0)
		return r;
	for (p = cfg->base_zones; (item = seed_next_item(&p, &len));) {
		if (seed_name_normalize(item, len, zone, sizeof(zone)) < 0) {
			r = db_error_set(err, -EINVAL, "invalid base zone \"%.*s\"", (int)len,
					 item);
			goto fail;
		}
		r = seed_zone(conn, cfg, zone, ns, n_ns, out, &e);
		if (r < 0) {
			db_error_set(err, r, "could not seed zone \"%s\": %s", zone, e.msg);
			if (err)
				memcpy(err->sqlstate, e.sqlstate, sizeof(err->sqlstate));
			goto fail;
		}
	}
	return db_exec(conn, "COMMIT", 0, NULL, NULL, err);
fail:
	(void)db_exec(conn, "ROLLBACK", 0, NULL, NULL, NULL);
	return r;
}
