from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payments", "0002_capture_public_id_announced")]

    operations = [
        migrations.AddField(
            model_name="webhooklog",
            name="body_bytes",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
