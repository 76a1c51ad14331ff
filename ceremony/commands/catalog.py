"""`ceremony catalog`: what each Azure Databricks CMK feature protects, and what no key covers."""

from __future__ import annotations

from ceremony.commands.common import print_json
from ceremony.databricks.catalog import load_catalog
from ceremony.databricks.coverage import coverage
from ceremony.databricks.render import catalog_json, catalog_table, coverage_table

PLANNED = "(planned)"  # the key name shown when --coverage names features but no keys


def show_catalog(args, env) -> int:
    catalog = load_catalog()
    if args.coverage is None:
        if args.json:
            print_json(catalog_json(catalog))
        else:
            print(catalog_table(catalog), end="")
        return 0
    features = [item.strip() for item in args.coverage.split(",") if item.strip()]
    report = coverage(catalog, dict.fromkeys(features, PLANNED))
    if args.json:
        print_json(report.to_json())
    else:
        print(coverage_table(report), end="")
    return 0
