"""Stock documents take their numbers from core's document sequences (pasar.core.numbering):
the counters so far move there, so numbering carries on where it stopped.

The copy reads every company's counters as the tables' owner; the source table's forced
row-level security is lifted for the copy (when the app role is the owner itself there is no
maintenance policy, and it would see no rows), and the table is dropped after.
"""

from django.db import migrations

COPY_COUNTERS = """
ALTER TABLE inventory_documentcounter NO FORCE ROW LEVEL SECURITY;
ALTER TABLE core_documentsequence NO FORCE ROW LEVEL SECURITY;
INSERT INTO core_documentsequence (company_id, prefix, last_number)
SELECT company_id, prefix, last_number FROM inventory_documentcounter
ON CONFLICT (company_id, prefix)
DO UPDATE SET last_number = greatest(core_documentsequence.last_number, EXCLUDED.last_number);
ALTER TABLE core_documentsequence FORCE ROW LEVEL SECURITY;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0008_hold_expiry_index"),
        ("core", "0004_document_sequence"),
    ]

    operations = [
        migrations.RunSQL(COPY_COUNTERS, migrations.RunSQL.noop),
        migrations.RemoveConstraint(
            model_name="documentcounter",
            name="document_counter_prefix",
        ),
        migrations.DeleteModel(
            name="DocumentCounter",
        ),
    ]
