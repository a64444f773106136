# Release 1 of the shop: the same migrations, before 0003 existed.
import importlib

Migration = importlib.import_module("shop.migrations.0002_item_sku").Migration
