from django.db import models
from django_tenants.models import DomainMixin
from tenant_users.tenants.models import TenantBase


class Company(TenantBase):
    name = models.CharField(max_length=100)


class Domain(DomainMixin):
    pass
