-- 0010: the CNAME exclusion constraint compares lower(name), not name.
--
-- The planner took the constraint's GiST index for lookups by name: its cost
-- estimate came out a hair below the unique btree on (name, type, content),
-- but each probe took about 8 times as long. ddns-cache's replica query for
-- a batch of 5,000 names ran in 165 ms instead of 63, and every re-read of a
-- changed name and every PostgreSQL fallback lookup paid the same. Owner
-- names are lower case (dns_owner), so lower(name) compares exactly as name
-- does, and no query asks by lower(name): the index serves the constraint
-- alone.
ALTER TABLE records DROP CONSTRAINT records_cname_exclusive;
ALTER TABLE records ADD CONSTRAINT records_cname_exclusive
	EXCLUDE USING gist (lower(name) WITH =, (type = 'CNAME') WITH <>);
