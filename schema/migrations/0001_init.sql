-- 0001_init: the data model. ddns-migrate runs this file in one transaction
-- together with its schema_migrations row; it must not contain BEGIN/COMMIT.
--
-- Names (zones, domains, records, SOA fields) are stored as absolute DNS names:
-- lower case, ASCII (IDNs as A-labels), with the trailing dot.

-- A fully qualified, lower-case host name with trailing dot ("alice.dyn.test.").
CREATE DOMAIN dns_name AS text
	CHECK (length(VALUE) BETWEEN 2 AND 254
	       AND VALUE ~ '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+$');

-- An owner name of a record: like dns_name, but labels may start with '_'
-- (_acme-challenge, _sip._tcp) and the first label may be the wildcard '*'.
CREATE DOMAIN dns_owner AS text
	CHECK (length(VALUE) BETWEEN 2 AND 254
	       AND VALUE ~ '^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+$');

-- Keeps updated_at current.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TABLE users (
	id            bigserial PRIMARY KEY,
	email         text NOT NULL
		CHECK (email = btrim(email) AND length(email) <= 254 AND email LIKE '_%@_%'),
	password_hash text NOT NULL,
	verified_at   timestamptz,
	status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
	created_at    timestamptz NOT NULL DEFAULT now(),
	updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
	FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE email_tokens (
	id         bigserial PRIMARY KEY,
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose    text NOT NULL CHECK (purpose IN ('verify', 'password_reset')),
	token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
	expires_at timestamptz NOT NULL,
	used_at    timestamptz,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_tokens_user_id ON email_tokens (user_id);

CREATE TABLE api_keys (
	id           bigserial PRIMARY KEY,
	kid          text NOT NULL UNIQUE CHECK (length(kid) BETWEEN 1 AND 128),
	user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         text CHECK (length(name) <= 100),
	algorithm    text NOT NULL CHECK (algorithm IN ('RS256', 'ES256')),
	public_jwk   jsonb NOT NULL CHECK (jsonb_typeof(public_jwk) = 'object'),
	created_at   timestamptz NOT NULL DEFAULT now(),
	last_used_at timestamptz,
	revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

-- The operator's base zones ('base') and, later, verified custom domains
-- ('custom'). serial is the base the cache service renders the SOA serial
-- from; record writes do not bump it (that would lock the zone row on every
-- update and serialize all writers of a zone).
CREATE TABLE zones (
	id         bigserial PRIMARY KEY,
	name       dns_name NOT NULL UNIQUE,
	kind       text NOT NULL DEFAULT 'base' CHECK (kind IN ('base', 'custom')),
	mname      dns_name NOT NULL,
	rname      dns_name NOT NULL,
	serial     bigint NOT NULL DEFAULT 1 CHECK (serial BETWEEN 0 AND 4294967295),
	refresh    integer NOT NULL DEFAULT 10800 CHECK (refresh BETWEEN 60 AND 2419200),
	retry      integer NOT NULL DEFAULT 3600 CHECK (retry BETWEEN 60 AND 2419200),
	expire     integer NOT NULL DEFAULT 604800 CHECK (expire BETWEEN 3600 AND 31536000),
	minimum    integer NOT NULL DEFAULT 60 CHECK (minimum BETWEEN 60 AND 86400),
	created_at timestamptz NOT NULL DEFAULT now(),
	CHECK (expire >= refresh AND expire >= retry)
);

-- Hostnames users claimed: exactly one label below a zone.
CREATE TABLE domains (
	id         bigserial PRIMARY KEY,
	zone_id    bigint NOT NULL REFERENCES zones (id) ON DELETE RESTRICT,
	user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name       dns_name NOT NULL UNIQUE,
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX domains_user_id ON domains (user_id);
CREATE INDEX domains_zone_id ON domains (zone_id);

CREATE FUNCTION domains_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	zname text;
BEGIN
	IF TG_OP = 'UPDATE' AND (NEW.name <> OLD.name OR NEW.zone_id <> OLD.zone_id) THEN
		RAISE EXCEPTION 'domain "%" cannot be renamed or moved', OLD.name
			USING ERRCODE = 'check_violation', CONSTRAINT = 'domains_name_fixed';
	END IF;
	SELECT name INTO zname FROM zones WHERE id = NEW.zone_id;
	IF zname IS NOT NULL AND NOT (
		right(NEW.name, length(zname) + 1) = '.' || zname
		AND position('.' IN left(NEW.name, length(NEW.name) - length(zname) - 1)) = 0
	) THEN
		RAISE EXCEPTION 'domain "%" is not one label below zone "%"', NEW.name, zname
			USING ERRCODE = 'check_violation', CONSTRAINT = 'domains_name_in_zone';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER domains_check BEFORE INSERT OR UPDATE ON domains
	FOR EACH ROW EXECUTE FUNCTION domains_check();

-- DNS data. domain_id NULL: the operator's record (apex NS, glue, ...).
-- SOA is not stored here: it is rendered from zones.
CREATE TABLE records (
	id         bigserial PRIMARY KEY,
	zone_id    bigint NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
	domain_id  bigint REFERENCES domains (id) ON DELETE CASCADE,
	name       dns_owner NOT NULL,
	type       text NOT NULL
		CHECK (type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'CAA', 'NS')),
	content    text NOT NULL CHECK (length(content) BETWEEN 1 AND 4096),
	ttl        integer NOT NULL DEFAULT 300 CHECK (ttl >= 60 AND ttl <= 86400),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT records_name_type_content_key UNIQUE (name, type, content)
);
-- lookups by name use the unique index (name, type, content)
CREATE INDEX records_domain_id ON records (domain_id);
CREATE INDEX records_zone_id ON records (zone_id);
CREATE TRIGGER records_updated_at BEFORE UPDATE ON records
	FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION records_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	zname text;
	dname text;
	dzone bigint;
BEGIN
	SELECT name INTO zname FROM zones WHERE id = NEW.zone_id;
	IF zname IS NOT NULL AND NOT (NEW.name = zname OR right(NEW.name, length(zname) + 1) = '.' || zname) THEN
		RAISE EXCEPTION 'record "%" is outside zone "%"', NEW.name, zname
			USING ERRCODE = 'check_violation', CONSTRAINT = 'records_name_in_zone';
	END IF;
	IF NEW.domain_id IS NOT NULL THEN
		SELECT name, zone_id INTO dname, dzone FROM domains WHERE id = NEW.domain_id;
		IF dname IS NOT NULL AND (dzone <> NEW.zone_id OR NOT (NEW.name = dname
			OR right(NEW.name, length(dname) + 1) = '.' || dname)) THEN
			RAISE EXCEPTION 'record "%" is outside domain "%"', NEW.name, dname
				USING ERRCODE = 'check_violation', CONSTRAINT = 'records_name_in_domain';
		END IF;
	END IF;
	-- a CNAME stands alone at its name (RFC 1034 3.6.2); the lock serializes
	-- concurrent writers of one name so that the check cannot race
	IF TG_OP = 'INSERT' OR NEW.name <> OLD.name OR NEW.type <> OLD.type THEN
		PERFORM pg_advisory_xact_lock(hashtextextended(NEW.name, 0));
		IF EXISTS (SELECT 1 FROM records r
			   WHERE r.name = NEW.name AND r.id <> NEW.id
			     AND (r.type = 'CNAME' OR NEW.type = 'CNAME')) THEN
			RAISE EXCEPTION 'a CNAME record at "%" cannot have other records', NEW.name
				USING ERRCODE = 'unique_violation', CONSTRAINT = 'records_cname_alone';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER records_check BEFORE INSERT OR UPDATE ON records
	FOR EACH ROW EXECUTE FUNCTION records_check();

-- The append-only change log. Every change of records (also cascaded deletes
-- of a user's domains) and of a zone's SOA data appends the changed names in
-- the same transaction, by trigger, so application code cannot forget it.
-- No foreign key: the zone may be gone when the change is applied.
--
-- Ids are taken in insertion order, but transactions commit in their own
-- order: a reader that remembers the last id must not skip over ids still
-- invisible to it. xid lets it tell: rows of transactions that were in
-- progress in its snapshot (pg_visible_in_snapshot) may still appear.
CREATE TABLE changes (
	id         bigserial PRIMARY KEY,
	zone_id    bigint NOT NULL,
	name       text NOT NULL,
	xid        xid8 NOT NULL DEFAULT pg_current_xact_id(),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX changes_created_at ON changes USING brin (created_at);

CREATE FUNCTION records_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO changes (zone_id, name) VALUES (NEW.zone_id, NEW.name);
	END IF;
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE'
		AND (OLD.name, OLD.zone_id) IS DISTINCT FROM (NEW.name, NEW.zone_id)) THEN
		INSERT INTO changes (zone_id, name) VALUES (OLD.zone_id, OLD.name);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER records_log_change AFTER INSERT OR UPDATE OR DELETE ON records
	FOR EACH ROW EXECUTE FUNCTION records_log_change();

CREATE FUNCTION zones_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO changes (zone_id, name) VALUES (OLD.id, OLD.name);
	ELSE
		INSERT INTO changes (zone_id, name) VALUES (NEW.id, NEW.name);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER zones_log_change AFTER INSERT OR DELETE OR UPDATE ON zones
	FOR EACH ROW EXECUTE FUNCTION zones_log_change();

CREATE FUNCTION zones_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.name <> OLD.name THEN
		RAISE EXCEPTION 'zone "%" cannot be renamed', OLD.name
			USING ERRCODE = 'check_violation', CONSTRAINT = 'zones_name_fixed';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER zones_check BEFORE UPDATE ON zones
	FOR EACH ROW EXECUTE FUNCTION zones_check();

-- Who did what, from where. Kept when the user goes (user_id becomes NULL).
CREATE TABLE audit_log (
	id          bigserial PRIMARY KEY,
	created_at  timestamptz NOT NULL DEFAULT now(),
	user_id     bigint REFERENCES users (id) ON DELETE SET NULL,
	actor       text NOT NULL, -- 'key:<kid>', 'session', 'token:<id>', 'operator'
	client_addr inet,
	user_agent  text,
	action      text NOT NULL,
	domain_name text,
	old_value   jsonb,
	new_value   jsonb
);
CREATE INDEX audit_log_domain_name ON audit_log (domain_name, id DESC);
CREATE INDEX audit_log_user_id ON audit_log (user_id, id DESC);
