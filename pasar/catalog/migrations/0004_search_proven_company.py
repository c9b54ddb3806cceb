"""The search function reads the transaction's proven company, not the plain setting.

`catalog_variant_search` is SECURITY DEFINER (it reads the search index the app role cannot),
so the company it filters by must be one the app role cannot choose by itself:
`pasar_current_company()` (see pasar/core/rls.py) instead of `pasar.company_id`. Only that one
expression of the function changes, so it is replaced in the stored definition.
"""

from django.db import migrations

SIGNATURE = "public.catalog_variant_search(text, tsquery, text[], text, integer)"
SETTING = "NULLIF(current_setting(''pasar.company_id'', true), '''')::bigint"
PROVEN = "public.pasar_current_company()"


def _swap(old: str, new: str) -> str:
    return f"""
DO $migration$
DECLARE
    definition text := pg_get_functiondef('{SIGNATURE}'::regprocedure);
BEGIN
    IF position('{old}' IN definition) = 0 THEN
        RAISE EXCEPTION 'catalog_variant_search does not read the expected company expression';
    END IF;
    EXECUTE replace(definition, '{old}', '{new}');
END
$migration$;
"""


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_search_document_brackets")]

    operations = [migrations.RunSQL(_swap(SETTING, PROVEN), _swap(PROVEN, SETTING))]
