"""Angle brackets and ampersands become spaces before a name is split into words.

PostgreSQL's text search parser reads "<limited>" as an XML tag and "&amp;" as an entity and
drops both, so "Kopi <limited> Blend" was not found by "limited". The query side already
splits on every such character (`pasar.catalog.selectors.WORD`).
"""

from django.db import migrations

DOCUMENT = r"""
CREATE OR REPLACE FUNCTION catalog_search.document(search_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_tsvector('simple'::regconfig, translate(search_text, '-_/.,:+#<>&', '           '))
$$;
"""

PREVIOUS_DOCUMENT = r"""
CREATE OR REPLACE FUNCTION catalog_search.document(search_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_tsvector('simple'::regconfig, translate(search_text, '-_/.,:+#', '        '))
$$;
"""

# Every variant's words again, as the owner (past the RLS policies on catalog_variant).
REINDEX = r"""
UPDATE catalog_search.variant s
SET search_vector = catalog_search.document(v.search_text)
FROM public.catalog_variant v
WHERE v.id = s.variant_id;
INSERT INTO catalog_search.word (company_id, word)
SELECT DISTINCT s.company_id, lexeme
FROM catalog_search.variant s, unnest(s.search_vector)
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0002_search_index"),
    ]

    operations = [
        migrations.RunSQL(DOCUMENT + REINDEX, PREVIOUS_DOCUMENT + REINDEX),
    ]
