"""One Django project, three ways to split it into tenants.

build.py sets FIXTURE_FRAMEWORK (django-tenants, django-tenant-users or
django-pgschemas), FIXTURE_RELEASE (1, or 2 after the shop's migration 0003
is deployed) and the FIXTURE_DB_* connection variables.
"""

import os

FRAMEWORK = os.environ["FIXTURE_FRAMEWORK"]
SHOP_RELEASE = int(os.environ.get("FIXTURE_RELEASE", "2"))
# Only the django-pgschemas project gives its items a sku.
SHOP_SKU = FRAMEWORK == "django-pgschemas"

SECRET_KEY = "fixture-only"
DEBUG = False
USE_TZ = True
ROOT_URLCONF = "urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MIGRATION_MODULES = {"shop": "shop.migrations" if SHOP_RELEASE >= 2 else "shop.migrations_r1"}

_db = {
    "NAME": os.environ["FIXTURE_DB_NAME"],
    "USER": os.environ["FIXTURE_DB_USER"],
    "HOST": os.environ["FIXTURE_DB_HOST"],
    "PORT": os.environ["FIXTURE_DB_PORT"],
}

if FRAMEWORK == "django-tenants":
    DATABASES = {"default": {"ENGINE": "django_tenants.postgresql_backend", **_db}}
    DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
    SHARED_APPS = [
        "django_tenants",
        "customers",
        "django.contrib.contenttypes",
        "django.contrib.auth",
    ]
    # As the django-tenants tutorial: auth in both lists.
    TENANT_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "shop"]
    INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]
    TENANT_MODEL = "customers.Client"
    TENANT_DOMAIN_MODEL = "customers.Domain"
elif FRAMEWORK == "django-tenant-users":
    DATABASES = {"default": {"ENGINE": "django_tenants.postgresql_backend", **_db}}
    DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
    # As django-tenant-users' installation guide.
    SHARED_APPS = [
        "django_tenants",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "tenant_users.permissions",
        "tenant_users.tenants",
        "companies",
        "users",
    ]
    TENANT_APPS = [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "tenant_users.permissions",
        "shop",
    ]
    INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]
    TENANT_MODEL = "companies.Company"
    TENANT_DOMAIN_MODEL = "companies.Domain"
    AUTH_USER_MODEL = "users.TenantUser"
    AUTHENTICATION_BACKENDS = ("tenant_users.permissions.backend.UserBackend",)
    TENANT_USERS_DOMAIN = "shop.test"
elif FRAMEWORK == "django-pgschemas":
    DATABASES = {"default": {"ENGINE": "django_pgschemas.postgresql", **_db}}
    DATABASE_ROUTERS = ("django_pgschemas.routers.TenantAppsRouter",)
    TENANTS = {
        "public": {
            "APPS": ["django.contrib.contenttypes", "django_pgschemas", "pgtenants"],
        },
        # A static tenant: the company's own shop, declared here, not registered.
        "www": {
            "APPS": ["django.contrib.auth", "shop"],
            "URLCONF": "urls",
            "DOMAINS": ["shop.test"],
        },
        "default": {
            "TENANT_MODEL": "pgtenants.Tenant",
            "DOMAIN_MODEL": "pgtenants.Domain",
            "APPS": ["django.contrib.auth", "shop"],
            "URLCONF": "urls",
            "CLONE_REFERENCE": "sample",
        },
    }
    INSTALLED_APPS = [
        "django_pgschemas",
        "pgtenants",
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "shop",
    ]
    SILENCED_SYSTEM_CHECKS = ["pgschemas.W002", "pgschemas.W003"]
else:
    raise RuntimeError(f"unknown FIXTURE_FRAMEWORK {FRAMEWORK!r}")
