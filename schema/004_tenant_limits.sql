-- Per-tenant call limits, enforced by the nodes in Redis like the gateways' (tandem:tcalllim:<id>,
-- tandem:tcps:<id>; emergency routes exempt). NULL: no limit.
ALTER TABLE tenants
    ADD COLUMN max_calls integer CHECK (max_calls > 0),
    ADD COLUMN max_cps numeric CHECK (max_cps > 0);
