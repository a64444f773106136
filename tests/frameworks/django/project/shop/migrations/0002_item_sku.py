from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """The sku column, in the project variant that has one (settings.SHOP_SKU)."""

    dependencies = [("shop", "0001_initial")]

    operations = (
        [migrations.AddField("item", "sku", models.CharField(max_length=32, null=True))]
        if settings.SHOP_SKU
        else []
    )
