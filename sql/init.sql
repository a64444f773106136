-- Schema-per-tenant layout: one shared users table, one schema per tenant.
-- Runs with `psql -f sql/init.sql` on an empty database.

CREATE TABLE public.users (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    name               text NOT NULL,
    mail               text NOT NULL UNIQUE,
    password           text NOT NULL,
    organization_id    text
);
-- The dashboard lists users by (name, id) and counts them per tenant.
CREATE INDEX users_name_id_idx ON public.users (name, id);
CREATE INDEX users_organization_id_idx ON public.users (organization_id);

CREATE SCHEMA client1;
CREATE TABLE client1.items (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    description        text NOT NULL,
    price              numeric(12,2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE client1.orders (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    user_id            text NOT NULL REFERENCES public.users (id),
    item_id            text NOT NULL REFERENCES client1.items (id),
    quantity           integer NOT NULL CHECK (quantity > 0)
);
-- Orders are always read for one user; comparison looks items up by description.
CREATE INDEX orders_user_id_idx ON client1.orders (user_id);
CREATE INDEX items_description_idx ON client1.items (description);

CREATE SCHEMA client2;
CREATE TABLE client2.items (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    description        text NOT NULL,
    price              numeric(12,2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE client2.orders (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    user_id            text NOT NULL REFERENCES public.users (id),
    item_id            text NOT NULL REFERENCES client2.items (id),
    quantity           integer NOT NULL CHECK (quantity > 0)
);
CREATE INDEX orders_user_id_idx ON client2.orders (user_id);
CREATE INDEX items_description_idx ON client2.items (description);
