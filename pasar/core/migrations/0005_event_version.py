"""Events carry the version of their topic's declared payload, and the inventory's topics take
names of the form <thing>.<what happened> (docs/events.md): events already written are renamed
too, so a handler replayed over the past finds them under the names it subscribes to. The copy
runs as the tables' owner with the outbox's forced row-level security lifted for it."""

from django.db import migrations, models

RENAMED = {
    "inventory.stock.changed": "stock.changed",
    "stock.low": "stock.ran_low",
    "inventory.reservation.created": "reservation.created",
    "inventory.reservation.committed": "reservation.committed",
    "inventory.reservation.fulfilled": "reservation.fulfilled",
    "inventory.reservation.released": "reservation.released",
    "inventory.reservation.expired": "reservation.expired",
    "inventory.transfer.dispatched": "transfer.dispatched",
    "inventory.transfer.received": "transfer.received",
    "inventory.stock_count.posted": "stock_count.posted",
    "inventory.purchase_receipt.created": "purchase_receipt.created",
    "inventory.purchase_receipt.voided": "purchase_receipt.voided",
}


def _renames(pairs: dict[str, str]) -> str:
    # Built from the constant names above only, never from input.
    cases = " ".join(f"WHEN '{old}' THEN '{new}'" for old, new in pairs.items())
    listed = ", ".join(f"'{old}'" for old in pairs)
    update = f"UPDATE core_outboxevent SET topic = CASE topic {cases} END"  # noqa: S608
    return (
        "ALTER TABLE core_outboxevent NO FORCE ROW LEVEL SECURITY;"
        f" {update} WHERE topic IN ({listed});"
        " ALTER TABLE core_outboxevent FORCE ROW LEVEL SECURITY;"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_document_sequence"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="version",
            field=models.PositiveSmallIntegerField(
                default=1,
                help_text="The version of the topic's declared payload it was written in.",
            ),
        ),
        migrations.RunSQL(_renames(RENAMED), _renames({new: old for old, new in RENAMED.items()})),
    ]
