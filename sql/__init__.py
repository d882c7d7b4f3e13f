"""SQL shipped with jobsphere-etl: numbered migrations, analyst views and seed data.

Read through ``importlib.resources`` (see ``warehouse.migrations``), so a regular install works.
"""
