"""The tenant app of every fixture: a catalogue and the orders of users.

`Item.sku` exists where settings.SHOP_SKU is on (one variant); release 2
(settings.SHOP_RELEASE) adds `Item.discontinued` (migration 0003), the
migration some tenants have not run in the anomaly builds.
"""

from django.conf import settings
from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    if settings.SHOP_SKU:
        sku = models.CharField(max_length=32, null=True)
    if settings.SHOP_RELEASE >= 2:
        discontinued = models.BooleanField(default=False)


class Order(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
