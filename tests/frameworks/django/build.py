#!/usr/bin/env python3
"""Builds a Django project's database with the tenancy framework itself.

    build.py --venv DIR --framework django-tenants|django-tenant-users|django-pgschemas
             --variant clean|anomalies --host SOCKET_DIR --port PORT --user USER --dbname DB

Creates (once) a venv in DIR with the pinned packages, then runs the
project in project/ against the (empty) database: Django's migrations, each
package's own tenant helpers, catalogues entered in a different order per
tenant. The `anomalies` variant then deploys release 2 of the shop (its
migration 0003) to some tenants only, drops a registered tenant's schema,
and deletes registry rows leaving their schemas (one of them half dropped).
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REQUIREMENTS = [
    "Django==5.2.19",
    "psycopg[binary]==3.3.9",
    "django-tenants==4.0.1",
    "django-tenant-users==3.0.1",
    "django-pgschemas==1.1.1",
]

# Each tenant's catalogue, in the order it was entered: ids differ per tenant.
CATALOGUES = {
    "acme": [("Widget", "9.99"), ("Gadget", "24.50"), ("Sprocket", "3.20"), ("Gizmo", "15.00")],
    "globex": [("Sprocket", "3.45"), ("Widget", "11.50"), ("Doohickey", "7.25"), ("Gadget", "22.00")],
    "stark": [("Gadget", "23.00"), ("Sprocket", "3.30"), ("Widget", "10.75")],
}
# (tenant, user, [(item, quantity)])
USERS = {
    "acme": [("alice", [("Widget", 3), ("Gadget", 1), ("Gizmo", 2)]), ("bob", [("Sprocket", 10)])],
    "globex": [("carol", [("Sprocket", 5), ("Widget", 2)]), ("dave", [("Doohickey", 1)])],
    "stark": [("erin", [("Gadget", 2), ("Widget", 1)])],
}
LABELS = {
    "acme": "Acme Corp",
    "globex": "Globex Inc",
    "stark": "Stark Industries",
    "initech": "Initech",
    "hooli": "Hooli",
    "umbrella": "Umbrella",
}
# Tenants made only in the anomaly variant (then broken), and the tenant
# left behind when release 2 is deployed.
DOOMED = ["initech", "hooli", "umbrella"]
BEHIND = "globex"


def ensure_venv(venv):
    python = os.path.join(venv, "bin", "python")
    stamp = os.path.join(venv, "requirements.txt")
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if os.path.exists(stamp) and open(stamp).read() == wanted:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", venv], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *REQUIREMENTS],
        check=True,
    )
    with open(stamp, "w") as f:
        f.write(wanted)
    return python


def run_phase(python, args, phase, release):
    env = dict(os.environ)
    env.update(
        FIXTURE_FRAMEWORK=args.framework,
        FIXTURE_RELEASE=str(release),
        FIXTURE_DB_NAME=args.dbname,
        FIXTURE_DB_USER=args.user,
        FIXTURE_DB_HOST=args.host,
        FIXTURE_DB_PORT=str(args.port),
        DJANGO_SETTINGS_MODULE="settings",
        PYTHONPATH=os.path.join(HERE, "project"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    subprocess.run(
        [python, os.path.abspath(__file__), "--phase", phase, "--variant", args.variant],
        env=env,
        check=True,
    )


# ---- inside the venv, with Django set up ------------------------------------


def command(*argv):
    from django.core.management import call_command

    call_command(*argv, verbosity=0)


def migrate_all(framework):
    if framework == "django-pgschemas":
        # public, the static tenants, and the dynamic ones.
        command("migrateschema", "--noinput", "--include-all-schemas")
    else:
        command("migrate_schemas", "--noinput", "--shared")
        command("migrate_schemas", "--noinput", "--tenant")


def fill_catalogue(tenant, users):
    """`users`: name -> user object usable as Order.user."""
    from shop.models import Item, Order
    from django.conf import settings

    items = {}
    for name, price in CATALOGUES[tenant]:
        extra = {"sku": "SKU-" + name.upper()} if settings.SHOP_SKU else {}
        items[name] = Item.objects.create(name=name, price=price, **extra)
    for user, lines in USERS[tenant]:
        for item, quantity in lines:
            Order.objects.create(user=users[user], item=items[item], quantity=quantity)


def tenants_wanted(variant):
    return list(CATALOGUES) + (DOOMED if variant == "anomalies" else [])


def catalogue_of(tenant):
    # The doomed tenants sell acme's catalogue (users: none).
    return tenant if tenant in CATALOGUES else None


def build_django_tenants(variant):
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context
    from customers.models import Client, Domain

    migrate_all("django-tenants")
    public = Client.objects.create(schema_name="public", name="Main site")
    Domain.objects.create(domain="shop.test", tenant=public, is_primary=True)
    get_user_model().objects.create_superuser("admin", "admin@shop.test", "admin-pw")
    for tenant in tenants_wanted(variant):
        client = Client.objects.create(schema_name=tenant, name=LABELS[tenant])
        Domain.objects.create(domain=f"{tenant}.shop.test", tenant=client, is_primary=True)
        if catalogue_of(tenant):
            with schema_context(tenant):
                User = get_user_model()
                users = {
                    name: User.objects.create_user(name, f"{name}@{tenant}.test", f"{name}-pw")
                    for name, _ in USERS[tenant]
                }
                fill_catalogue(tenant, users)


def build_django_tenant_users(variant):
    from django.contrib.auth import get_user_model
    from django_tenants.utils import schema_context
    from tenant_users.tenants.tasks import provision_tenant
    from tenant_users.tenants.utils import create_public_tenant

    migrate_all("django-tenant-users")
    create_public_tenant("shop.test", "owner@shop.test")
    User = get_user_model()
    people = {}
    for tenant in tenants_wanted(variant):
        owner_name = USERS[tenant][0][0] if catalogue_of(tenant) else f"{tenant}-owner"
        owner = people.get(owner_name) or User.objects.create_user(
            email=f"{owner_name}@{tenant}.test", password=f"{owner_name}-pw", name=owner_name
        )
        people[owner_name] = owner
        company, _ = provision_tenant(LABELS[tenant], tenant, owner)
        if catalogue_of(tenant):
            for name, _ in USERS[tenant][1:]:
                user = User.objects.create_user(
                    email=f"{name}@{tenant}.test", password=f"{name}-pw", name=name
                )
                people[name] = user
                company.add_user(user)
            with schema_context(company.schema_name):
                fill_catalogue(tenant, {name: people[name] for name, _ in USERS[tenant]})
    # bob also works for globex: one person, two memberships.
    from companies.models import Company

    globex = Company.objects.get(slug="globex")
    globex.add_user(people["bob"])


def build_django_pgschemas(variant):
    from django_pgschemas.schema import Schema
    from pgtenants.models import Domain, Tenant
    from django.contrib.auth import get_user_model

    # public first (contenttypes lives there), then the clone reference,
    # then every schema.
    command("migrateschema", "--noinput", "-s", "public")
    command("createrefschema")
    migrate_all("django-pgschemas")
    # The static tenant: its own users, no catalogue.
    with Schema.create(schema_name="www"):
        get_user_model().objects.create_user("webmaster", "webmaster@shop.test", "web-pw")
    for tenant in tenants_wanted(variant):
        row = Tenant.objects.create(schema_name=tenant, name=LABELS[tenant])
        Domain.objects.create(tenant=row, domain=f"{tenant}.shop.test", is_primary=True)
        if catalogue_of(tenant):
            with row:
                User = get_user_model()
                users = {
                    name: User.objects.create_user(name, f"{name}@{tenant}.test", f"{name}-pw")
                    for name, _ in USERS[tenant]
                }
                fill_catalogue(tenant, users)


def schema_of(framework, tenant):
    if framework == "django-tenant-users":
        from companies.models import Company

        return Company.objects.get(slug=tenant).schema_name
    return tenant


def release_two(framework):
    """Deploys the shop's migration 0003 to every tenant but BEHIND: a
    rollout that died before the last tenant."""
    if framework == "django-pgschemas":
        command("migrateschema", "--noinput", "-s", "public")
        command("migrateschema", "--noinput", "-s", "www")
        command("migrateschema", "--noinput", "-s", "sample")
        for tenant in CATALOGUES:
            if tenant != BEHIND:
                command("migrateschema", "--noinput", "-s", tenant)
    else:
        command("migrate_schemas", "--noinput", "--shared")
        for tenant in CATALOGUES:
            if tenant != BEHIND:
                command("migrate_schemas", "--noinput", "--schema", schema_of(framework, tenant))


def plant_registry_anomalies(framework):
    from django.db import connection

    quote = connection.ops.quote_name
    initech, hooli, umbrella = (schema_of(framework, t) for t in DOOMED)
    # A registered tenant whose schema was dropped by hand.
    with connection.cursor() as cursor:
        cursor.execute(f"DROP SCHEMA {quote(initech)} CASCADE")
    # Registry rows deleted, schemas left behind (a queryset delete never
    # drops schemas); umbrella's removal stopped after some tables.
    if framework == "django-tenants":
        from customers.models import Client as Registry
    elif framework == "django-tenant-users":
        from companies.models import Company as Registry
    else:
        from pgtenants.models import Tenant as Registry
    doomed = Registry.objects.filter(schema_name__in=[hooli, umbrella])
    if framework == "django-tenant-users":
        # Its delete drops the schema (a signal): the rows went by hand,
        # as a cleanup script would.
        ids = list(doomed.values_list("pk", flat=True))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM users_tenantuser_tenants WHERE company_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM companies_domain WHERE tenant_id = ANY(%s)", [ids])
            cursor.execute("DELETE FROM companies_company WHERE id = ANY(%s)", [ids])
    else:
        doomed.delete()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {quote(umbrella)}.shop_order")


def phase(name, variant):
    import django

    django.setup()
    from django.conf import settings

    framework = settings.FRAMEWORK
    if name == "build":
        {
            "django-tenants": build_django_tenants,
            "django-tenant-users": build_django_tenant_users,
            "django-pgschemas": build_django_pgschemas,
        }[framework](variant)
    elif name == "release2":
        release_two(framework)
        plant_registry_anomalies(framework)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--phase")
    parser.add_argument("--venv")
    parser.add_argument("--framework")
    parser.add_argument("--variant", choices=["clean", "anomalies"], default="clean")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user")
    parser.add_argument("--dbname")
    args = parser.parse_args()
    if args.phase:
        phase(args.phase, args.variant)
        return
    python = ensure_venv(args.venv)
    if args.variant == "clean":
        run_phase(python, args, "build", release=2)
    else:
        run_phase(python, args, "build", release=1)
        run_phase(python, args, "release2", release=2)


if __name__ == "__main__":
    main()
