-- Demo-only extras, after sql/populate.sql, so that every finding of the
-- dashboard and `health` has something to show:
--  * tenant client3 sells only the Tesla, at its own price, so a comparison
--    against it shows an item that tenant does not sell;
--  * client3 has drifted from the others, as old schemas do: its prices are
--    a float (double precision), not numeric(12,2); its ids are integers,
--    not text; and its items carry a column the others lack (health shows
--    the drift, the orders pane the float price at its own scale);
--  * stray_dude belongs to a tenant (client9) whose schema was never
--    created: a registered tenant without a schema;
--  * client4 is a schema nobody belongs to (no user names it: an
--    offboarded tenant left behind), and the migrations that ran since
--    skipped it: its items lack creation_timestamp (health: unused, and a
--    missing column);
--  * client2 holds an order placed by mid_dude, a user of client3: a leak
--    (`health --leaks client2`, or L on client2 in the health view).

CREATE SCHEMA client3;
CREATE TABLE client3.items (
    id                 integer PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    description        text NOT NULL,
    price              double precision NOT NULL CHECK (price >= 0),
    colour             text
);
CREATE TABLE client3.orders (
    id                 integer PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    user_id            text NOT NULL REFERENCES public.users (id),
    item_id            integer NOT NULL REFERENCES client3.items (id),
    quantity           integer NOT NULL CHECK (quantity > 0)
);
CREATE INDEX orders_user_id_idx ON client3.orders (user_id);
CREATE INDEX items_description_idx ON client3.items (description);

CREATE SCHEMA client4;
CREATE TABLE client4.items (
    id                 text PRIMARY KEY,
    description        text NOT NULL,
    price              numeric(12,2) NOT NULL CHECK (price >= 0)
);
CREATE TABLE client4.orders (
    id                 text PRIMARY KEY,
    creation_timestamp timestamptz NOT NULL DEFAULT now(),
    user_id            text NOT NULL REFERENCES public.users (id),
    item_id            text NOT NULL REFERENCES client4.items (id),
    quantity           integer NOT NULL CHECK (quantity > 0)
);
CREATE INDEX orders_user_id_idx ON client4.orders (user_id);
CREATE INDEX items_description_idx ON client4.items (description);

INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
    ('3', 'mid_dude', 'm@gmail.com', 'mid-secret-pw', 'client3'),
    ('4', 'stray_dude', 's@gmail.com', 'stray-secret-pw', 'client9');

INSERT INTO client3.items (id, description, price, colour) VALUES
    (1, 'Tesla', 3500, 'red');
INSERT INTO client3.orders (id, user_id, item_id, quantity) VALUES
    (1, '3', 1, 2);
INSERT INTO client4.items (id, description, price) VALUES
    ('1', 'Tesla', 4200.00),
    ('2', 'Huawei', 1500.00);
INSERT INTO client2.orders (id, user_id, item_id, quantity) VALUES
    ('3', '3', '2', 1);
