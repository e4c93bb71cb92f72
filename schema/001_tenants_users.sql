-- Tenants (one SIP domain each), their users (HA1 only, never a password) and API keys.
-- Changes to users and tenants are announced on channel tandem_directory so nodes drop caches.

CREATE TABLE tenants (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    domain      text NOT NULL UNIQUE CHECK (length(domain) BETWEEN 1 AND 253),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id     uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    extension     text NOT NULL CHECK (extension ~ '^[A-Za-z0-9._+-]{1,64}$'),
    display_name  text NOT NULL DEFAULT '',
    -- MD5(extension ":" domain ":" password), the RFC 2617 HA1 with the tenant domain as realm.
    ha1           text NOT NULL CHECK (ha1 ~ '^[0-9a-f]{32}$'),
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, extension)
);

-- tenant_id NULL is a superadmin key. Only the SHA-256 of the key is kept.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id    uuid REFERENCES tenants(id) ON DELETE CASCADE,
    key_sha256   text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Payload: "<domain> <extension>" for one user, "<domain> *" for a whole tenant.
CREATE FUNCTION tandem_notify_user() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
    d text;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    SELECT domain INTO d FROM tenants WHERE id = r.tenant_id;
    IF d IS NOT NULL THEN
        PERFORM pg_notify('tandem_directory', d || ' ' || r.extension);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.extension <> NEW.extension AND d IS NOT NULL THEN
        PERFORM pg_notify('tandem_directory', d || ' ' || OLD.extension);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION tandem_notify_tenant() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('tandem_directory', OLD.domain || ' *');
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM pg_notify('tandem_directory', NEW.domain || ' *');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION tandem_notify_user();
CREATE TRIGGER tenants_notify AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION tandem_notify_tenant();
