# Release 1 of the shop: the same migrations, before 0003 existed.
import importlib

Migration = importlib.import_module("shop.migrations.0001_initial").Migration
