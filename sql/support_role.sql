-- Least-privilege role for running tenantscope against production.
--
--   psql -v ON_ERROR_STOP=1 -f sql/support_role.sql            (as the table owner or a superuser)
--   psql -c "ALTER ROLE tenantscope_support PASSWORD '...'"    (then hand out the password)
--
-- It may: log in, use the shared schema and every tenant schema, read
-- items and orders, and read public.users -- every column except password
-- (a column-level grant, so even `SELECT *` as this role fails).
-- It may not write anything: it is granted no INSERT/UPDATE/DELETE at all.
--
-- Re-run this script whenever tenant schemas are created: it is idempotent
-- and grants on every schema that holds an items and an orders table. To
-- cover future tenants automatically, have the role that creates them run,
-- once (as that role):
--   ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO tenantscope_support;
--   ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO tenantscope_support;
-- (Default privileges apply to objects that role creates later, in any schema.)
--
-- The shared schema and table default to public.users; change them here if
-- your tenancy.shared_schema / tenancy.users_table differ.

DO $$
DECLARE
    shared_schema constant text := 'public';
    users_table   constant text := 'users';
    secret_column constant text := 'password';
    tenant record;
    readable text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tenantscope_support') THEN
        CREATE ROLE tenantscope_support LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    -- Every session of the role is read-only by default as well.
    ALTER ROLE tenantscope_support SET default_transaction_read_only = on;

    EXECUTE format('GRANT USAGE ON SCHEMA %I TO tenantscope_support', shared_schema);
    -- Start from nothing on the users table, then grant the readable columns.
    EXECUTE format('REVOKE ALL ON TABLE %I.%I FROM tenantscope_support', shared_schema, users_table);
    SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
      INTO readable
      FROM pg_attribute a
     WHERE a.attrelid = format('%I.%I', shared_schema, users_table)::regclass
       AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> secret_column;
    EXECUTE format('GRANT SELECT (%s) ON TABLE %I.%I TO tenantscope_support',
                   readable, shared_schema, users_table);

    FOR tenant IN
        SELECT n.nspname
          FROM pg_namespace n
         WHERE n.nspname <> shared_schema
           AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'items')
           AND EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = 'orders')
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO tenantscope_support', tenant.nspname);
        EXECUTE format('GRANT SELECT ON TABLE %I.items, %I.orders TO tenantscope_support',
                       tenant.nspname, tenant.nspname);
    END LOOP;
END
$$;
