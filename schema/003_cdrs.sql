-- Call detail records: one row per call, written in batches by each node's CDR writer
-- (node/store/cdr_writer.c). call_uuid is the dedupe key that makes spool replays idempotent.

CREATE TABLE cdrs (
    id              bigserial PRIMARY KEY,
    -- SET NULL, not CASCADE: billing records outlive the tenant they were billed to.
    tenant_id       uuid REFERENCES tenants(id) ON DELETE SET NULL,
    call_uuid       uuid NOT NULL UNIQUE,
    a_call_id       text NOT NULL DEFAULT '',
    b_call_id       text NOT NULL DEFAULT '',
    caller          text NOT NULL,
    callee_dialled  text NOT NULL,
    callee_routed   text NOT NULL DEFAULT '',
    gateway         text NOT NULL DEFAULT '',
    node            text NOT NULL,
    -- Millisecond precision; NULL when the call never got there (no ringing, no answer).
    start_at        timestamptz(3) NOT NULL,
    progress_at     timestamptz(3),
    answer_at       timestamptz(3),
    end_at          timestamptz(3) NOT NULL,
    duration_ms     bigint NOT NULL CHECK (duration_ms >= 0),
    billsec_ms      bigint NOT NULL DEFAULT 0 CHECK (billsec_ms >= 0),
    sip_status      integer NOT NULL,
    q850_cause      integer NOT NULL,
    hangup_by       text NOT NULL CHECK (hangup_by IN ('caller', 'callee', 'system')),
    codec_a         text,
    codec_b         text,
    -- Per-leg RTP statistics (packets, loss, jitter...), filled once the media engine reports them.
    media_a         jsonb,
    media_b         jsonb,
    failover        boolean NOT NULL DEFAULT false,
    inserted_at     timestamptz NOT NULL DEFAULT now()
);

-- The API lists a tenant's CDRs by time range, in start order.
CREATE INDEX cdrs_tenant_start ON cdrs (tenant_id, start_at, id);
