from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="next_attempt_at",
            field=models.DateTimeField(
                blank=True,
                help_text="After a failed attempt, when the relay tries again.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="outboxevent",
            name="dead_at",
            field=models.DateTimeField(
                blank=True, help_text="Set aside after too many failed attempts.", null=True
            ),
        ),
        migrations.RemoveIndex(
            model_name="outboxevent",
            name="outbox_pending",
        ),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("dead_at__isnull", True), ("relayed_at__isnull", True)),
                fields=["id"],
                name="outbox_pending",
            ),
        ),
    ]
