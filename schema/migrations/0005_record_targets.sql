-- 0005_record_targets: which records point at a name.
--
-- PowerDNS caches answers that carry other names' data: a CNAME's chased
-- target, the additional A/AAAA of an MX exchange, an SRV target or an NS
-- host. When such a target changes, ddns-cache purges the zones of the
-- records that point at it; this finds them by index instead of by reading
-- every record.

-- The name a CNAME, MX, SRV or NS record points at (NULL for other types).
CREATE FUNCTION dns_target(type text, content text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
	SELECT CASE type
		WHEN 'CNAME' THEN content
		WHEN 'NS' THEN content
		WHEN 'MX' THEN split_part(content, ' ', 2)
		WHEN 'SRV' THEN split_part(content, ' ', 4)
	END
$$;

CREATE INDEX records_target ON records (dns_target(type, content))
	WHERE type IN ('CNAME', 'MX', 'SRV', 'NS');
