-- Routing tables of each tenant: outbound gateways, DIDs (inbound numbers) and routes (dialled
-- number -> ordered gateways). The B2BUA's queries are in docs/routing.md; changes are announced
-- on channel tandem_routing as "<tenant_id> <table>" so nodes drop that tenant's routing cache.

CREATE TABLE gateways (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id                 uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name                      text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    -- An IPv4/IPv6 literal or a DNS name (resolved per RFC 3263 when calling out).
    host                      text NOT NULL CHECK (length(host) BETWEEN 1 AND 253),
    port                      int NOT NULL DEFAULT 5060 CHECK (port BETWEEN 1 AND 65535),
    transport                 text NOT NULL DEFAULT 'udp' CHECK (transport IN ('udp', 'tcp')),
    username                  text CHECK (length(username) BETWEEN 1 AND 128),
    -- Kept as given, unlike users.ha1: this is a client credential. We answer the gateway's
    -- digest challenges (outbound REGISTER, INVITE), and the response is MD5(HA1:nonce:...)
    -- where HA1 = MD5(username:realm:password) with the realm the gateway picks per challenge,
    -- so neither a one-way hash nor a precomputed HA1 can stand in for it. The REST API never
    -- returns it (only has_password).
    password                  text CHECK (length(password) BETWEEN 1 AND 128),
    register                  boolean NOT NULL DEFAULT false,
    register_expires          int NOT NULL DEFAULT 3600 CHECK (register_expires BETWEEN 60 AND 86400),
    -- OPTIONS keepalive period in seconds; 0 turns pinging off.
    ping_interval             int NOT NULL DEFAULT 30
                              CHECK (ping_interval = 0 OR ping_interval BETWEEN 5 AND 3600),
    -- Sources whose INVITEs are taken as coming from this gateway (inbound, docs/routing.md).
    acl_cidrs                 cidr[] NOT NULL DEFAULT '{}',
    max_calls                 int CHECK (max_calls > 0),          -- concurrent; NULL = no limit
    max_cps                   numeric CHECK (max_cps > 0),        -- calls per second; NULL = none
    originate_timeout_ms      int NOT NULL DEFAULT 5000
                              CHECK (originate_timeout_ms BETWEEN 100 AND 600000),
    progress_timeout_ms       int NOT NULL DEFAULT 30000
                              CHECK (progress_timeout_ms BETWEEN 100 AND 600000),
    bridge_answer_timeout_ms  int NOT NULL DEFAULT 120000
                              CHECK (bridge_answer_timeout_ms BETWEEN 100 AND 600000),
    -- Final statuses from this gateway that make the route try its next gateway (timeouts do
    -- too); any other final status ends the call with it.
    failover_statuses         int[] NOT NULL DEFAULT '{408,500,502,503,504}'
                              CHECK (400 <= ALL (failover_statuses) AND 699 >= ALL (failover_statuses)),
    caller_id_mode            text NOT NULL DEFAULT 'pai'
                              CHECK (caller_id_mode IN ('pai', 'rpid', 'none')),
    enabled                   boolean NOT NULL DEFAULT true,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT gateways_register_credentials
        CHECK (NOT register OR (username IS NOT NULL AND password IS NOT NULL)),
    UNIQUE (tenant_id, name)
);

-- A number belongs to one tenant, hence UNIQUE across all tenants. Matched exactly as stored.
CREATE TABLE dids (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    number       text NOT NULL UNIQUE CHECK (number ~ '^\+?[0-9]{1,20}$'),
    target_type  text NOT NULL DEFAULT 'extension' CHECK (target_type IN ('extension')),
    target       text NOT NULL CHECK (target ~ '^[A-Za-z0-9._+-]{1,64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- gateway_ids cannot carry a foreign key (it is an array): the API checks on every write that
-- each id is a gateway of the same tenant, and refuses to delete a gateway a route still uses.
CREATE TABLE routes (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    priority      int NOT NULL DEFAULT 100 CHECK (priority BETWEEN 0 AND 65535), -- lower first
    -- POSIX extended regex (regcomp REG_EXTENDED) on the dialled number, unanchored.
    pattern       text NOT NULL CHECK (length(pattern) BETWEEN 1 AND 256),
    strip_digits  int NOT NULL DEFAULT 0 CHECK (strip_digits BETWEEN 0 AND 20),
    prepend       text NOT NULL DEFAULT '' CHECK (prepend ~ '^[0-9+*#]{0,20}$'),
    gateway_ids   uuid[] NOT NULL CHECK (cardinality(gateway_ids) BETWEEN 1 AND 16),
    emergency     boolean NOT NULL DEFAULT false, -- exempt from max_calls / max_cps
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);

CREATE INDEX routes_tenant_priority ON routes (tenant_id, priority);
CREATE INDEX gateways_tenant ON gateways (tenant_id);
CREATE INDEX dids_tenant ON dids (tenant_id);

-- Payload "<tenant_id> <table>": the whole tenant's routing is cached as one unit.
CREATE FUNCTION tandem_notify_routing() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('tandem_routing', OLD.tenant_id::text || ' ' || TG_TABLE_NAME);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.tenant_id <> OLD.tenant_id) THEN
        PERFORM pg_notify('tandem_routing', NEW.tenant_id::text || ' ' || TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER gateways_notify AFTER INSERT OR UPDATE OR DELETE ON gateways
    FOR EACH ROW EXECUTE FUNCTION tandem_notify_routing();
CREATE TRIGGER dids_notify AFTER INSERT OR UPDATE OR DELETE ON dids
    FOR EACH ROW EXECUTE FUNCTION tandem_notify_routing();
CREATE TRIGGER routes_notify AFTER INSERT OR UPDATE OR DELETE ON routes
    FOR EACH ROW EXECUTE FUNCTION tandem_notify_routing();
