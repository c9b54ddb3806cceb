"""Captures get a public id (the `payment.captured` event names them) and `announced_at` (the
event is published once per capture). Existing captures each get their own id, and those of
payments that were captured without review count as announced."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    Capture = apps.get_model("payments", "Capture")
    for capture in Capture.objects.select_related("payment"):
        capture.public_id = uuid.uuid4()
        if not capture.payment.review_reason:
            capture.announced_at = capture.created_at
        capture.save(update_fields=["public_id", "announced_at"])


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="capture",
            name="announced_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="capture",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="capture",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
