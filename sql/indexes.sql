-- Recommended indexes for large tenantscope databases (see docs/scaling.md).
-- tenantscope works without them, only slower; apply them on databases with
-- more than about 100k users or with large tenants.
--
--   psql -f sql/indexes.sql          (after sql/init.sql or sql/scale.sql)
--
-- Idempotent: every statement is CREATE ... IF NOT EXISTS, and the tenant
-- schemas are found from the catalog on every run, so it is SAFE TO RE-RUN,
-- in particular after new tenants are created (it then only adds the indexes
-- of the new tenants). Notes:
--   * IF NOT EXISTS goes by index name: an existing index of the same name is
--     kept whatever its definition (sql/init.sql uses these same names).
--   * Plain CREATE INDEX blocks writes to the table while it builds (reads go
--     on). On a busy database build the big ones by hand with
--     CREATE INDEX CONCURRENTLY instead (see docs/scaling.md).
--   * Do not run it with psql --single-transaction: the tenant loop commits
--     every 100 tenants (one transaction for thousands of tenants would run
--     out of lock table space).
--   * It names public.users and its organization_id column, the default
--     layout (tenancy.shared_schema, tenancy.users_table,
--     tenancy.tenant_column); edit the names for another layout.
--   * Measured on the scale.sql database (1M users, 2000 tenants, 2 cores):
--     19-24 s the first time, 0.3 s for a re-run; maintenance_work_mem 64MB
--     or 512MB made no difference there.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- Users list, ordered by (name, id): the first page (ORDER BY name, id
-- LIMIT n) and keyset paging to the next ones (WHERE (name, id) > ($1, $2)
-- ORDER BY name, id LIMIT n) read this index instead of sorting every user.
CREATE INDEX IF NOT EXISTS users_name_id_idx ON public.users (name, id);

-- Users per tenant: the tenants view and `tenantscope tenants` count users
-- GROUP BY organization_id, and the tenant health checks look users up by
-- organization id (users of one tenant, users of a missing schema).
CREATE INDEX IF NOT EXISTS users_organization_id_idx ON public.users (organization_id);

-- The `/` filter (and `tenantscope users --filter`): name, mail or tenant
-- ILIKE '%text%'. A B-tree cannot serve a pattern with a leading %; trigram
-- GIN indexes can (patterns of 3 or more characters; shorter ones still scan).
-- The operator class is looked up in whatever schema holds pg_trgm.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DO $$
DECLARE
    ops text;
BEGIN
    SELECT format('%I.gin_trgm_ops', n.nspname) INTO STRICT ops
      FROM pg_catalog.pg_extension e
      JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX IF NOT EXISTS users_name_trgm_idx
                        ON public.users USING gin (name %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS users_mail_trgm_idx
                        ON public.users USING gin (mail %s)', ops);
    EXECUTE format('CREATE INDEX IF NOT EXISTS users_organization_id_trgm_idx
                        ON public.users USING gin (organization_id %s)', ops);
END
$$;

-- Orders of one user (the orders pane, `tenantscope orders USER_ID`): WHERE
-- user_id = $1 in the user's tenant. Without it every selection scans the
-- tenant's whole orders table. It also serves the foreign key from
-- orders.user_id: deleting or re-keying a user checks every tenant's orders.
-- Created in EVERY tenant schema, i.e. every schema holding both an items
-- and an orders table, as tenantscope defines a tenant; an orders table
-- without a user_id column (drift) is skipped with a warning.
DO $$
DECLARE
    tenant  text;
    created int := 0;
BEGIN
    FOR tenant IN
        SELECT n.nspname
          FROM pg_catalog.pg_namespace n
         WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                        WHERE c.relnamespace = n.oid AND c.relname = 'items'
                          AND c.relkind IN ('r', 'p', 'v', 'm', 'f'))
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                        WHERE c.relnamespace = n.oid AND c.relname = 'orders'
                          AND c.relkind IN ('r', 'p'))
         ORDER BY n.nspname
    LOOP
        IF NOT EXISTS (SELECT 1
                         FROM pg_catalog.pg_attribute a
                         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
                         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = tenant AND c.relname = 'orders'
                          AND a.attname = 'user_id' AND NOT a.attisdropped) THEN
            RAISE WARNING 'tenant %: orders has no user_id column, no index made', tenant;
            CONTINUE;
        END IF;
        EXECUTE format('CREATE INDEX IF NOT EXISTS orders_user_id_idx ON %I.orders (user_id)', tenant);
        created := created + 1;
        IF created % 100 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;
