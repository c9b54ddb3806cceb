"""A version number on users and companies that moves with every change, so a request may
reuse the identity an earlier request read once it has checked the number (see
pasar/tenancy/selectors.py, `enter_remembered_identity`).

Triggers keep the numbers, whoever writes: the ORM, raw SQL or a data fix.
- A user's number moves on every update of their row, and on every membership of theirs added,
  changed or removed (their role, their companies).
- A company's number moves on every update of its row.
The user table and the company table have no row-level security, so the membership trigger's
update reaches the user's row from any company's context.
"""

from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION tenancy_bump_identity_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.identity_version := OLD.identity_version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER tenancy_user_identity_version BEFORE UPDATE ON tenancy_user
FOR EACH ROW EXECUTE FUNCTION tenancy_bump_identity_version();

CREATE TRIGGER tenancy_company_identity_version BEFORE UPDATE ON tenancy_company
FOR EACH ROW EXECUTE FUNCTION tenancy_bump_identity_version();

-- Any update of the user's row moves their number (the trigger above).
CREATE FUNCTION tenancy_membership_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE tenancy_user SET identity_version = identity_version WHERE id = OLD.user_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id <> OLD.user_id) THEN
        UPDATE tenancy_user SET identity_version = identity_version WHERE id = NEW.user_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tenancy_membership_identity_version
AFTER INSERT OR UPDATE OR DELETE ON tenancy_membership
FOR EACH ROW EXECUTE FUNCTION tenancy_membership_changed();
"""

DROP_TRIGGERS = """
DROP TRIGGER tenancy_membership_identity_version ON tenancy_membership;
DROP FUNCTION tenancy_membership_changed();
DROP TRIGGER tenancy_company_identity_version ON tenancy_company;
DROP TRIGGER tenancy_user_identity_version ON tenancy_user;
DROP FUNCTION tenancy_bump_identity_version();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0002_user_email_verified"),
    ]

    operations = [
        migrations.AddField(
            model_name="company",
            name="identity_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="user",
            name="identity_version",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
