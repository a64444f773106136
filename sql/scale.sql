-- Scale data generator: thousands of tenant schemas and a million users, for
-- trying tenantscope (and its tests) on a database of realistic size.
--
-- Runs with plain psql on an EMPTY database:
--
--   psql -v tenants=2000 -v users=1000000 -v items=50 -v orders_per_user=5 -f sql/scale.sql
--
-- Every variable is optional; the defaults are the values above. Everything is
-- generated in the server (generate_series); nothing loops over rows in psql.
--
-- What it makes (T = tenants, U = users, I = items, O = orders_per_user):
--   * public.users: U users, ids '1'..'U', names user_0000001.., mails
--     user_0000001@example.com.., spread round-robin over the tenants: user g
--     belongs to tenant ((g - 1) % T) + 1. Plus the 3 planted users below.
--   * T tenant schemas tenant_0001..tenant_T (zero padded to 4 digits; more if
--     T > 9999, and then the planted tenant names have more digits too), each with the same catalogue in items (ids '1'..'I',
--     descriptions 'Item 01'..) at its own prices (deterministic, from the
--     tenant and item numbers), and O orders per user of its own users, each of
--     one of its items, quantity 1..10. Order ids are '1'.. within a tenant.
--   * the same shapes as sql/init.sql (text ids, numeric(12,2) prices, integer
--     quantities, foreign keys orders.user_id -> public.users(id) and
--     orders.item_id -> that tenant's items(id)), with primary keys but WITHOUT
--     the secondary indexes: apply sql/indexes.sql for those.
--
-- Totals at the defaults: 1,000,003 users; 2,001 tenants (schemas with both
-- items and orders: tenant_0001..tenant_2000 and tenant_empty); 5,000,001
-- orders (U * O plus the leaked one); 100,100 items (T * I, plus I each in
-- tenant_empty and tenant_broken).
--
-- PLANTED ANOMALIES (for the tenant-health feature; exactly these, no others):
--   extra_column        tenant_0002.items has an extra column `quantity integer`.
--   price_type_drift    tenant_0003.items.price is `double precision`, not numeric(12,2).
--   incomplete_schema   schema tenant_broken has an `items` table but no `orders`
--                       table (so it is not a tenant); no user points at it.
--   missing_schema      3 users (ids U+1..U+3, user_<U+1>.. names) have
--                       organization_id 'tenant_missing', a schema that does not exist.
--   tenant_without_users  tenant_empty has items and orders tables (items filled,
--                       no orders) and no user points at it.
--   leaked_order        one order in tenant_0001.orders (id = that tenant's last
--                       order id + 1, item '1', quantity 1) belongs to user '4',
--                       a user of tenant_0004. The foreign key still holds (the
--                       user exists); only the tenant is wrong.
-- Every other user has orders only in its own tenant, and every tenant_NNNN
-- has users (the script requires users >= tenants >= 4).
--
-- MEASURED on the 2-core development machine, PostgreSQL 15, defaults
-- (2000 tenants, 1,000,003 users, 5,000,001 orders; 1.1 GB with indexes.sql):
--   74-92 s on a scratch server (fsync=off, synchronous_commit=off,
--        full_page_writes=off, maintenance_work_mem=512MB), the higher
--        figure with other work on the machine;
--   88 s on a server with stock settings (fsync on).
-- Roughly: users 4-5 s, tenant loop 29-43 s, ANALYZE 15-21 s, foreign keys
-- 20-33 s.
-- tenants=20 users=2000: under 1 s.
--
-- Do not run it with psql --single-transaction: the DO blocks commit as
-- they go.

\set ON_ERROR_STOP on

\if :{?tenants}
\else
  \set tenants 2000
\endif
\if :{?users}
\else
  \set users 1000000
\endif
\if :{?items}
\else
  \set items 50
\endif
\if :{?orders_per_user}
\else
  \set orders_per_user 5
\endif

SET synchronous_commit = off;
SET client_min_messages = warning;

-- The sizes, as integers (a typo fails here), for the DO blocks below: psql
-- does not substitute its variables inside dollar quotes.
SELECT :'tenants'::int AS tenants, :'users'::int AS users, :'items'::int AS items,
       :'orders_per_user'::int AS orders_per_user,
       greatest(4, length(:'tenants'::int::text)) AS tenant_width,
       greatest(7, length((:'users'::int + 3)::text)) AS user_width,
       greatest(2, length(:'items'::int::text)) AS item_width
\gset
-- The tenants that get planted anomalies (4 digits unless tenants > 9999).
SELECT 'tenant_' || lpad('1', :tenant_width, '0') AS tenant_1,
       'tenant_' || lpad('2', :tenant_width, '0') AS tenant_2,
       'tenant_' || lpad('3', :tenant_width, '0') AS tenant_3
\gset
SET scale.tenants = :tenants;
SET scale.users = :users;
SET scale.items = :items;
SET scale.orders_per_user = :orders_per_user;
SET scale.tenant_width = :tenant_width;
SET scale.item_width = :item_width;
DO $$
BEGIN
    IF current_setting('scale.tenants')::int < 4 THEN
        RAISE EXCEPTION 'tenants must be at least 4 (the planted anomalies use tenant_0001..tenant_0004)';
    END IF;
    IF current_setting('scale.users')::int < current_setting('scale.tenants')::int THEN
        RAISE EXCEPTION 'users must be at least tenants (every tenant_NNNN gets users)';
    END IF;
    IF current_setting('scale.items')::int < 1 OR current_setting('scale.orders_per_user')::int < 1 THEN
        RAISE EXCEPTION 'items and orders_per_user must be at least 1';
    END IF;
END
$$;

-- Progress and per-statement times, unless psql runs quietly (-q).
\if :QUIET
\else
  \echo scale.sql: :tenants tenants, :users users, :items items per tenant, :orders_per_user orders per user
  \timing on
\endif

-- Shared users table, loaded before its keys are built (faster than keeping
-- the indexes up to date row by row). Same shape as sql/init.sql.
CREATE TABLE public.users (
    id                 text NOT NULL,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    name               text NOT NULL,
    mail               text NOT NULL,
    password           text NOT NULL,
    organization_id    text
);

INSERT INTO public.users (id, creation_timestamp, name, mail, password, organization_id)
SELECT g::text,
       timestamptz '2023-01-01 00:00:00+00' + g * interval '17 seconds',
       'user_' || lpad(g::text, :user_width, '0'),
       'user_' || lpad(g::text, :user_width, '0') || '@example.com',
       'secret-' || g,
       'tenant_' || lpad(((g - 1) % :tenants + 1)::text, :tenant_width, '0')
  FROM generate_series(1, :users) AS g;

-- Planted: missing_schema.
INSERT INTO public.users (id, creation_timestamp, name, mail, password, organization_id)
SELECT g::text,
       timestamptz '2023-01-01 00:00:00+00' + g * interval '17 seconds',
       'user_' || lpad(g::text, :user_width, '0'),
       'user_' || lpad(g::text, :user_width, '0') || '@example.com',
       'secret-' || g,
       'tenant_missing'
  FROM generate_series(:users + 1, :users + 3) AS g;

ALTER TABLE public.users ADD PRIMARY KEY (id), ADD UNIQUE (mail);

-- One tenant schema: items (with the catalogue at the tenant's prices) and,
-- unless with_orders is false, an empty orders table. Same shapes as
-- sql/init.sql; foreign keys come after the data. A temporary function: it
-- goes away with this session.
CREATE FUNCTION pg_temp.scale_tenant(schema_name text, price_seed int, with_orders boolean)
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
    EXECUTE format('CREATE SCHEMA %I', schema_name);
    EXECUTE format($sql$
        CREATE TABLE %I.items (
            id                 text PRIMARY KEY,
            creation_timestamp timestamptz NOT NULL DEFAULT now(),
            description        text NOT NULL,
            price              numeric(12,2) NOT NULL CHECK (price >= 0)
        )$sql$, schema_name);
    -- Item i's list price is i * 10 + 0.99; each tenant charges 50% to 199%
    -- of it, the factor depending on tenant and item, so neighbours differ.
    EXECUTE format($sql$
        INSERT INTO %I.items (id, creation_timestamp, description, price)
        SELECT i::text,
               timestamptz '2022-06-01 00:00:00+00' + i * interval '1 hour',
               'Item ' || lpad(i::text, $3, '0'),
               round((i * 10 + 0.99) * (50 + ($2 * 37 + i * 11) %% 150) / 100.0, 2)
          FROM generate_series(1, $1) AS i$sql$, schema_name)
        USING current_setting('scale.items')::int, price_seed,
              current_setting('scale.item_width')::int;
    IF with_orders THEN
        EXECUTE format($sql$
            CREATE TABLE %I.orders (
                id                 text PRIMARY KEY,
                creation_timestamp timestamptz NOT NULL DEFAULT now(),
                user_id            text NOT NULL,
                item_id            text NOT NULL,
                quantity           integer NOT NULL CHECK (quantity > 0)
            )$sql$, schema_name);
    END IF;
END
$fn$;

-- The tenants and their orders, committing every 50 tenants (one transaction
-- for all would run out of lock table space: every new table is locked until
-- commit). Tenant t's users are g = t, t + T, t + 2T, ... <= U; the j-th of
-- them (from 0) has orders j*O+1 .. j*O+O.
DO $$
DECLARE
    n_tenants int := current_setting('scale.tenants')::int;
    n_users   int := current_setting('scale.users')::int;
    n_items   int := current_setting('scale.items')::int;
    per_user  int := current_setting('scale.orders_per_user')::int;
    width     int := current_setting('scale.tenant_width')::int;
    tenant    text;
BEGIN
    FOR t IN 1..n_tenants LOOP
        tenant := 'tenant_' || lpad(t::text, width, '0');
        PERFORM pg_temp.scale_tenant(tenant, t, true);
        EXECUTE format($sql$
            INSERT INTO %I.orders (id, creation_timestamp, user_id, item_id, quantity)
            SELECT (((g - $1) / $2) * $3 + k + 1)::text,
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '13 seconds' + k * interval '1 day',
                   g::text,
                   ((g::bigint * $3 + k) * 2654435761 %% 4294967291 %% $4 + 1)::text,
                   (g::bigint * $3 + k) * 40503 %% 65521 %% 10 + 1
              FROM generate_series($1, $5, $2) AS g, generate_series(0, $3 - 1) AS k$sql$, tenant)
            USING t, n_tenants, per_user, n_items, n_users;
        IF t % 50 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;

-- Planted: tenant_without_users, incomplete_schema.
DO $$
BEGIN
    PERFORM pg_temp.scale_tenant('tenant_empty', current_setting('scale.tenants')::int + 1, true);
    PERFORM pg_temp.scale_tenant('tenant_broken', current_setting('scale.tenants')::int + 2, false);
END
$$;

-- Planted: extra_column, price_type_drift.
ALTER TABLE :"tenant_2".items ADD COLUMN quantity integer;
UPDATE :"tenant_2".items SET quantity = (id::int * 7) % 20;
ALTER TABLE :"tenant_3".items ALTER COLUMN price TYPE double precision;

-- Planted: leaked_order (user '4' belongs to tenant_0004).
INSERT INTO :"tenant_1".orders (id, creation_timestamp, user_id, item_id, quantity)
SELECT (max(id::bigint) + 1)::text, timestamptz '2024-06-01 00:00:00+00', '4', '1', 1
  FROM :"tenant_1".orders;

-- Statistics before the foreign keys rather than after: the keys do not
-- change them, and the checks that validate the keys are planned with them
-- (measured on an idle machine: 20-27 s for the keys with statistics, 30 s
-- without).
ANALYZE;

-- Foreign keys, after the data: one validating scan per table instead of a
-- check per inserted row.
DO $$
DECLARE
    tenant text;
    done   int := 0;
BEGIN
    FOR tenant IN
        SELECT n.nspname
          FROM pg_catalog.pg_namespace n
         WHERE (n.nspname LIKE 'tenant\_%')
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                        WHERE c.relnamespace = n.oid AND c.relname = 'orders' AND c.relkind = 'r')
         ORDER BY n.nspname
    LOOP
        EXECUTE format('ALTER TABLE %1$I.orders
                            ADD FOREIGN KEY (user_id) REFERENCES public.users (id),
                            ADD FOREIGN KEY (item_id) REFERENCES %1$I.items (id)', tenant);
        done := done + 1;
        IF done % 100 = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
END
$$;

\if :QUIET
\else
  \timing off
  \echo scale.sql: done
\endif
