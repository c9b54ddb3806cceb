"""Public ids are unique within their company (PublicIdMixin), no longer across companies:
every unique constraint of a tenant table starts with company_id."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_identity_version"),
    ]

    operations = [
        migrations.AlterField(
            model_name="invitation",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="membership",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AlterField(
            model_name="shopper",
            name="public_id",
            field=models.UUIDField(db_index=True, default=uuid.uuid4, editable=False),
        ),
        migrations.AddConstraint(
            model_name="invitation",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="invitation_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="membership",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="membership_public_id_per_company"
            ),
        ),
        migrations.AddConstraint(
            model_name="shopper",
            constraint=models.UniqueConstraint(
                fields=("company", "public_id"), name="shopper_public_id_per_company"
            ),
        ),
    ]
