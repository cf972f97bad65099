/* Applying changes: re-read names from PostgreSQL, rewrite their keys, purge notices. */

#include "services/cache/cache_int.h"
#include "shared/db.h"
#include "shared/dnsname.h"
#include "shared/log.h"
#include "shared/metrics.h"
#include "shared/replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *cache_text_array(const char *const *names, size_t n)
{
	size_t size = 3, pos = 0;
	char *buf;

	for (size_t i = 0; i < n; i++)
		size += 2 * strlen(names[i]) + 3;
	buf = malloc(size);
	if (!buf)
		return NULL;
	buf[pos++] = '{';
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf[pos++] = ',';
		buf[pos++] = '"';
		for (const char *p = names[i]; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf[pos++] = '\\';
			buf[pos++] = *p;
		}
		buf[pos++] = '"';
	}
	buf[pos++] = '}';
	buf[pos] = '\0';
	return buf;
}

size_t cache_name_suffixes(const char *name, const char **ret, size_t max)
{
	size_t n = 0;
	const char *p = name;

	while (*p && n < max) {
		const char *dot;

		if (strcmp(p, ".") == 0)
			break;
		ret[n++] = p;
		dot = strchr(p, '.');
		if (!dot)
			break;
		p = dot + 1;
	}
	return n;
}

/* One name to re-render. */
struct item {
	const char *name;  /* borrowed from the changes or their suffixes */
	bool is_change;    /* a changed name, not only an ancestor */
	long long zone_id; /* of the change (-1: several disagree); 0 for ancestors */
	bool seen;
	char *json;         /* owned; NULL: no such name */
	long long rzone_id; /* the zone the name is in now; 0: none */
	char *rzone_name;   /* owned */
	char *rzone_info;   /* owned; zones hash value */
	bool old_exists;    /* filled from the SET ... GET / GETDEL reply */
	char *old;          /* owned */
};

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

struct apply_ctx {
	struct item *items;
	size_t n;
};

static int on_name(const char *name, const char *json, const struct replica_zone *zone, void *arg)
{
	struct apply_ctx *ctx = arg;
	struct item key = { .name = name }, *it;

	it = bsearch(&key, ctx->items, ctx->n, sizeof(*ctx->items), item_cmp);
	if (!it || it->seen)
		return -EPROTO;
	it->seen = true;
	if (json && !(it->json = strdup(json)))
		return -ENOMEM;
	if (zone) {
		it->rzone_id = zone->id;
		if (!(it->rzone_name = strdup(zone->name)))
			return -ENOMEM;
		if (replica_render_zone_info(zone, &it->rzone_info) < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool has_type(const char *json, const char *type)
{
	char pat[32];

	if (!json)
		return false;
	snprintf(pat, sizeof(pat), "\"qtype\":\"%s\"", type);
	return strstr(json, pat) != NULL;
}

/* Reads the zone list again and makes the zones hash match it. */
static int reconcile_zones(struct cache *c)
{
	char key[REPLICA_KEY_SIZE];
	struct db_error err;
	PGresult *res = NULL;
	redisReply *rep = NULL;
	int r, n;

	replica_zones_key(c->gen, key, sizeof(key));
	r = db_exec(c->pg, replica_sql_zones, 0, NULL, &res, &err);
	if (r < 0) {
		log_error(NULL, "could not read the zones: %s", err.msg);
		return r;
	}
	n = PQntuples(res);
	for (int i = 0; i < n; i++) {
		struct replica_zone z;
		char *info = NULL;

		r = replica_zone_from_row(res, i, 0, &z);
		if (r < 0 || (r = replica_render_zone_info(&z, &info)) < 0)
			goto out;
		redisAppendCommand(c->rdns, "HSET %s %s %s", key, z.name, info);
		free(info);
	}
	for (int i = 0; i < n; i++) {
		rep = NULL;
		if (redisGetReply(c->rdns, (void **)&rep) != REDIS_OK ||
		    cache_redis_check(c->rdns, rep, "HSET zones") < 0) {
			r = -EIO;
			goto out;
		}
		freeReplyObject(rep);
		rep = NULL;
	}
	rep = redisCommand(c->rdns, "HKEYS %s", key);
	if ((r = cache_redis_check(c->rdns, rep, "HKEYS zones")) < 0)
		goto out;
	for (size_t i = 0; i < rep->elements; i++) {
		const char *zname = rep->element[i]->str;
		bool found = false;

		for (int j = 0; j < n && !found; j++)
			found = strcmp(PQgetvalue(res, j, 1), zname) == 0;
		if (!found) {
			redisReply *d = redisCommand(c->rdns, "HDEL %s %s", key, zname);

			if ((r = cache_redis_check(c->rdns, d, "HDEL zones")) < 0)
				goto out;
			freeReplyObject(d);
			log_info(NULL, "zone \"%s\" removed from the replica", zname);
		}
	}
	r = 0;
out:
	freeReplyObject(rep);
	PQclear(res);
	return r;
}

/* Purge notices of one batch, deduplicated: zones first, names not below a purged zone. */
struct purges {
	char **zones, **names;
	size_t n_zones, n_names;
};

static int purge_add(char ***list, size_t *n, const char *name)
{
	char **l;

	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], name) == 0)
			return 0;
	l = realloc(*list, (*n + 1) * sizeof(*l));
	if (!l)
		return -ENOMEM;
	*list = l;
	if (!(l[*n] = strdup(name)))
		return -ENOMEM;
	(*n)++;
	return 0;
}

static void purges_finish(struct purges *p)
{
	for (size_t i = 0; i < p->n_zones; i++)
		free(p->zones[i]);
	for (size_t i = 0; i < p->n_names; i++)
		free(p->names[i]);
	free(p->zones);
	free(p->names);
}

static int purges_send(struct cache *c, const struct purges *p)
{
	int r;

	for (size_t i = 0; i < p->n_zones; i++)
		if ((r = cache_publish(c, p->zones[i])) < 0)
			return r;
	for (size_t i = 0; i < p->n_names; i++) {
		bool covered = false;

		for (size_t j = 0; j < p->n_zones && !covered; j++)
			covered = dnsname_is_at_or_below(p->names[i], p->zones[j]);
		if (!covered && (r = cache_publish(c, p->names[i])) < 0)
			return r;
	}
	return 0;
}

/*
 * The zones holding a record that points at one of the names purged by name
 * only: pdns caches a CNAME's chased answer under the CNAME's name, and the
 * addresses of an MX exchange, SRV target or NS host as additional data of
 * other answers, so the target's change must purge those zones too
 * (dns_target and its index: migration 0005).
 */
static const char sql_referrers[] =
	"SELECT DISTINCT z.name FROM records r JOIN zones z ON z.id = r.zone_id "
	"WHERE r.type IN ('CNAME', 'MX', 'SRV', 'NS') "
	"AND dns_target(r.type, r.content) = ANY($1::text[])";

static int add_referrers(struct cache *c, struct purges *p)
{
	struct db_error err;
	PGresult *res = NULL;
	char *array;
	int r;

	if (p->n_names == 0)
		return 0;
	array = cache_text_array((const char *const *)p->names, p->n_names);
	if (!array)
		return -ENOMEM;
	{
		const char *params[] = { array };

		r = db_exec_prepared(c->pg, "cache_referrers", sql_referrers, 1, params, &res,
				     &err);
	}
	free(array);
	if (r < 0) {
		log_error(NULL, "could not read the records pointing at %zu names: %s", p->n_names,
			  err.msg);
		return r;
	}
	for (int i = 0; i < PQntuples(res) && r == 0; i++)
		r = purge_add(&p->zones, &p->n_zones, PQgetvalue(res, i, 0));
	PQclear(res);
	return r;
}

/* Decides the purge notice for one rewritten name. */
static int purge_item(struct purges *p, const struct item *it)
{
	bool changed, appeared;

	changed = it->old_exists != (it->json != NULL) ||
		  (it->json && it->old && strcmp(it->json, it->old) != 0);
	if (!changed)
		return 0;
	appeared = it->old_exists != (it->json != NULL);
	if (!it->is_change) {
		/* an ancestor: only an ENT marker that appeared or went matters;
		 * the apex changes with every serial and is not worth a zone purge */
		if (appeared && it->rzone_name)
			return purge_add(&p->zones, &p->n_zones, it->rzone_name);
		return 0;
	}
	if (appeared || strncmp(it->name, "*.", 2) == 0 || has_type(it->json, "CNAME") ||
	    has_type(it->old, "CNAME") || has_type(it->json, "ENT") || has_type(it->old, "ENT")) {
		/* cached under other names too: NXDOMAIN answers, wildcard
		 * synthesis, CNAME chains; the name itself when its zone is gone */
		return purge_add(&p->zones, &p->n_zones,
				 it->rzone_name ? it->rzone_name : it->name);
	}
	return purge_add(&p->names, &p->n_names, it->name);
}

int cache_apply(struct cache *c, const struct cache_change *changes, size_t n)
{
	struct apply_ctx ctx = { 0 };
	struct purges purges = { 0 };
	const char **names = NULL;
	char *array = NULL, zones_key[REPLICA_KEY_SIZE];
	struct db_error err;
	PGresult *res = NULL;
	redisReply *rep = NULL;
	size_t cap = 0, n_zone_cmds = 0;
	bool reconcile = false;
	int r = -ENOMEM;

	if (n == 0)
		return 0;
	if (c->gen <= 0)
		return -ENOTCONN;
	/* every changed name, each of its ancestors and its zone apex: all suffixes */
	for (size_t i = 0; i < n; i++)
		cap += dnsname_label_count(changes[i].name) + 1;
	ctx.items = calloc(cap, sizeof(*ctx.items));
	if (!ctx.items)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const char *suf[DNSNAME_MAX / 2 + 2];
		size_t k = cache_name_suffixes(changes[i].name, suf, sizeof(suf) / sizeof(suf[0]));

		for (size_t j = 0; j < k; j++) {
			ctx.items[ctx.n].name = suf[j];
			ctx.items[ctx.n].is_change = j == 0;
			ctx.items[ctx.n].zone_id = j == 0 ? changes[i].zone_id : 0;
			ctx.n++;
		}
	}
	qsort(ctx.items, ctx.n, sizeof(*ctx.items), item_cmp);
	{
		size_t w = 0;

		for (size_t i = 0; i < ctx.n; i++) {
			if (w > 0 && strcmp(ctx.items[w - 1].name, ctx.items[i].name) == 0) {
				struct item *prev = &ctx.items[w - 1];

				if (ctx.items[i].is_change) {
					if (prev->is_change &&
					    prev->zone_id != ctx.items[i].zone_id)
						prev->zone_id = -1;
					else if (!prev->is_change)
						prev->zone_id = ctx.items[i].zone_id;
					prev->is_change = true;
				}
				continue;
			}
			ctx.items[w++] = ctx.items[i];
		}
		ctx.n = w;
	}
	names = calloc(ctx.n, sizeof(*names));
	if (!names)
		goto out;
	for (size_t i = 0; i < ctx.n; i++)
		names[i] = ctx.items[i].name;
	array = cache_text_array(names, ctx.n);
	if (!array)
		goto out;

	{
		const char *params[] = { array };

		r = db_exec_prepared(c->pg, "cache_names", replica_sql_names, 1, params, &res,
				     &err);
	}
	if (r < 0) {
		log_error(NULL, "could not read %zu names: %s", ctx.n, err.msg);
		goto out;
	}
	r = replica_render_result(res, on_name, &ctx);
	if (r < 0) {
		log_error(NULL, "could not render %zu names: %s", ctx.n, strerror(-r));
		goto out;
	}
	for (size_t i = 0; i < ctx.n; i++) {
		if (!ctx.items[i].seen) {
			log_error(NULL, "name \"%s\" missing from the query result",
				  ctx.items[i].name);
			r = -EPROTO;
			goto out;
		}
	}

	/* pipelined: one SET ... GET or GETDEL per name, the zones of the changes */
	replica_zones_key(c->gen, zones_key, sizeof(zones_key));
	for (size_t i = 0; i < ctx.n; i++) {
		struct item *it = &ctx.items[i];
		char key[REPLICA_KEY_SIZE];

		if (replica_name_key(c->gen, it->name, key, sizeof(key)) < 0) {
			r = -EMSGSIZE;
			goto out;
		}
		if (it->json)
			redisAppendCommand(c->rdns, "SET %s %s GET", key, it->json);
		else
			redisAppendCommand(c->rdns, "GETDEL %s", key);
		if (it->is_change && (!it->rzone_name || it->rzone_id != it->zone_id ||
				      strcmp(it->name, it->rzone_name) == 0))
			reconcile = true; /* a zone appeared, went, or its SOA changed */
	}
	for (size_t i = 0; i < ctx.n; i++) {
		struct item *it = &ctx.items[i];
		bool dup = false;

		if (!it->is_change || !it->rzone_info)
			continue;
		for (size_t j = 0; j < i && !dup; j++)
			dup = ctx.items[j].is_change && ctx.items[j].rzone_id == it->rzone_id;
		if (dup)
			continue;
		redisAppendCommand(c->rdns, "HSET %s %s %s", zones_key, it->rzone_name,
				   it->rzone_info);
		n_zone_cmds++;
	}
	for (size_t i = 0; i < ctx.n; i++) {
		struct item *it = &ctx.items[i];

		rep = NULL;
		if (redisGetReply(c->rdns, (void **)&rep) != REDIS_OK ||
		    cache_redis_check(c->rdns, rep, it->json ? "SET" : "GETDEL") < 0) {
			r = -EIO;
			goto out;
		}
		if (rep->type == REDIS_REPLY_STRING) {
			it->old_exists = true;
			if (!(it->old = strndup(rep->str, rep->len))) {
				r = -ENOMEM;
				goto out;
			}
		}
		freeReplyObject(rep);
		rep = NULL;
	}
	for (size_t i = 0; i < n_zone_cmds; i++) {
		rep = NULL;
		if (redisGetReply(c->rdns, (void **)&rep) != REDIS_OK ||
		    cache_redis_check(c->rdns, rep, "HSET zones") < 0) {
			r = -EIO;
			goto out;
		}
		freeReplyObject(rep);
		rep = NULL;
	}
	if (reconcile && (r = reconcile_zones(c)) < 0)
		goto out;

	for (size_t i = 0; i < ctx.n; i++)
		if ((r = purge_item(&purges, &ctx.items[i])) < 0)
			goto out;
	if ((r = add_referrers(c, &purges)) < 0)
		goto out;
	/* every name written or deleted, for the mirrors, after the writes */
	r = cache_publish_names(c, names, ctx.n);
	if (r < 0)
		goto out;
	r = purges_send(c, &purges);
	if (r < 0)
		goto out;
	metric_add(c->m_applied, n);
	metric_add(c->m_names_written, ctx.n);
	r = 0;
out:
	freeReplyObject(rep);
	PQclear(res);
	for (size_t i = 0; i < ctx.n; i++) {
		free(ctx.items[i].json);
		free(ctx.items[i].rzone_name);
		free(ctx.items[i].rzone_info);
		free(ctx.items[i].old);
	}
	free(ctx.items);
	free(names);
	free(array);
	purges_finish(&purges);
	return r;
}
