"""Aggregate keys compare byte by byte on PostgreSQL (collation "C"), whatever the database's locale.

Intake sorts, joins and probes the unique index on (aggregate_type, aggregate_id) for every event:
under a linguistic collation (``en_US.utf8``, the default of the ``postgres`` image) each comparison
goes through the locale, about 6% of the ordered intake statement (ICU ``en-US``, measured); and the
order the statement locks cursors in is then not Python's, which the ORM path locks them in. Django
has no per-database ``db_collation``, and SQLite has no "C": the change is made on PostgreSQL only.
"""

from django.db import migrations

#: The tables whose aggregate keys are compared byte by byte.
_TABLES = ("notifier_inbox", "notifier_aggregate", "notifier_gap")


def _collate(collation: str):
    def run(apps, schema_editor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        quote = schema_editor.quote_name
        for table in _TABLES:
            schema_editor.execute(
                f"ALTER TABLE {quote(table)} "
                + ", ".join(
                    f'ALTER COLUMN {quote(column)} TYPE varchar(200) COLLATE "{collation}"'
                    for column in ("aggregate_type", "aggregate_id")
                )
            )

    return run


class Migration(migrations.Migration):
    dependencies = [("notifications", "0005_inbox_waiting_effects")]

    operations = [migrations.RunPython(_collate("C"), _collate("default"), elidable=False)]
