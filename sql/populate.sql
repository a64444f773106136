-- Reference demo data: two tenants selling the same two items at different prices.
-- Runs with `psql -f sql/populate.sql` after sql/init.sql.

INSERT INTO public.users (id, name, mail, password, organization_id) VALUES
    ('1', 'rich_dude', 'h@gmail.com', 'rich-secret-pw', 'client1'),
    ('2', 'poor_dude', 'p@gmail.com', 'poor-secret-pw', 'client2');

INSERT INTO client1.items (id, description, price) VALUES
    ('1', 'Tesla', 5000.00),
    ('2', 'Huawei', 2000.00);
INSERT INTO client2.items (id, description, price) VALUES
    ('1', 'Tesla', 1000.00),
    ('2', 'Huawei', 100.00);

INSERT INTO client1.orders (id, user_id, item_id, quantity) VALUES
    ('1', '1', '1', 10),
    ('2', '1', '2', 5);
INSERT INTO client2.orders (id, user_id, item_id, quantity) VALUES
    ('1', '2', '1', 10),
    ('2', '2', '2', 5);
