from django.db import migrations, models


class Migration(migrations.Migration):
    """Release 2: the migration the anomaly builds leave unrun in one tenant."""

    dependencies = [("shop", "0002_item_sku")]

    operations = [migrations.AddField("item", "discontinued", models.BooleanField(default=False))]
