"""Public ids are unique within their company (PublicIdMixin), no longer across companies:
every unique constraint of a tenant table starts with company_id."""

import uuid

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0004_payment_settings"),
        ("tenancy", "0004_public_id_per_company"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="capture",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="gatewayaccount",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="payment",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="paymentattempt",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="refund",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="webhooklog",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AddConstraint(
            model_name="capture",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="capture_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="gatewayaccount",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="gatewayaccount_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="payment_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="paymentattempt",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="paymentattempt_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="refund",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="refund_public_id_per_company"
            ),
        ),
    ]
