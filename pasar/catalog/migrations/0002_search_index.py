"""The variant search index, kept outside row-level security so its indexes can work.

Under RLS, PostgreSQL checks the policy before any condition whose operator is not
LEAKPROOF, and the full-text (@@) and trigram (%) operators are not, so on catalog_variant
itself their GIN indexes can never be used and every search reads the whole table. The index
therefore lives in its own schema, `catalog_search`, that the app role cannot read.
Triggers keep it in step with catalog_variant and catalog_product, and the SECURITY DEFINER
function `catalog_variant_search` is the only way in: it applies the same company condition
as the RLS policies (the transaction's `pasar.company_id`) and returns variant ids, which the
app then reads through RLS as usual. docs/catalog.md explains the design.

Functions run with search_path = pg_catalog, pg_temp, and name pg_trgm's objects in public
explicitly, as SECURITY DEFINER functions should.
"""

from django.contrib.postgres.operations import BtreeGinExtension, TrigramExtension
from django.db import migrations

CREATE_INDEX = r"""
CREATE SCHEMA catalog_search;
REVOKE ALL ON SCHEMA catalog_search FROM PUBLIC;

-- Punctuation becomes spaces, as the app does with a query: "LAT-12" is the words "lat" and
-- "12" (the text search parser would read "-12" as a negative number), so "lat 1" finds it.
CREATE FUNCTION catalog_search.document(search_text text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT to_tsvector('simple'::regconfig, translate(search_text, '-_/.,:+#', '        '))
$$;

-- One row per variant. The archived flags let a search answer from this table alone.
CREATE TABLE catalog_search.variant (
    variant_id bigint PRIMARY KEY,
    company_id bigint NOT NULL,
    product_id bigint NOT NULL,
    sku varchar(64) NOT NULL,
    barcode varchar(13) NOT NULL,
    search_vector tsvector NOT NULL,
    variant_archived boolean NOT NULL,
    product_archived boolean NOT NULL
);
CREATE INDEX variant_search_words
    ON catalog_search.variant USING gin (company_id, search_vector);
CREATE INDEX variant_search_sku ON catalog_search.variant (company_id, upper(sku));
CREATE INDEX variant_search_barcode ON catalog_search.variant (company_id, barcode);
CREATE INDEX variant_search_product ON catalog_search.variant (product_id);

-- Every word the company's variants use: near spellings are looked up here by trigram
-- similarity (a few thousand words), as the pg_trgm documentation advises, rather than by
-- comparing the query with every variant. Words are only added; one that no variant uses any
-- more still leads the full-text search to no variant, so it costs nothing.
CREATE TABLE catalog_search.word (
    company_id bigint NOT NULL,
    word text NOT NULL,
    PRIMARY KEY (company_id, word)
);
CREATE INDEX word_search_trigrams
    ON catalog_search.word USING gin (company_id, word public.gin_trgm_ops);

CREATE FUNCTION catalog_search.variant_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    document tsvector;
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM catalog_search.variant WHERE variant_id = OLD.id;
        RETURN NULL;
    END IF;
    document := catalog_search.document(NEW.search_text);
    -- The product row is read under the writer's own tenant context (RLS applies here too).
    INSERT INTO catalog_search.variant (
        variant_id, company_id, product_id, sku, barcode, search_vector,
        variant_archived, product_archived
    )
    VALUES (
        NEW.id, NEW.company_id, NEW.product_id, NEW.sku, NEW.barcode, document,
        NEW.status = 'archived',
        coalesce(
            (SELECT status = 'archived' FROM public.catalog_product WHERE id = NEW.product_id),
            false
        )
    )
    ON CONFLICT (variant_id) DO UPDATE SET
        company_id = EXCLUDED.company_id,
        product_id = EXCLUDED.product_id,
        sku = EXCLUDED.sku,
        barcode = EXCLUDED.barcode,
        search_vector = EXCLUDED.search_vector,
        variant_archived = EXCLUDED.variant_archived,
        product_archived = EXCLUDED.product_archived;
    INSERT INTO catalog_search.word (company_id, word)
    SELECT NEW.company_id, lexeme FROM unnest(document)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_variant_search_index
    AFTER INSERT OR DELETE
        OR UPDATE OF company_id, product_id, sku, barcode, search_text, status
    ON public.catalog_variant
    FOR EACH ROW EXECUTE FUNCTION catalog_search.variant_changed();

CREATE FUNCTION catalog_search.product_status_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE catalog_search.variant
    SET product_archived = NEW.status = 'archived'
    WHERE product_id = NEW.id AND product_archived IS DISTINCT FROM (NEW.status = 'archived');
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_product_search_index
    AFTER UPDATE OF status ON public.catalog_product
    FOR EACH ROW EXECUTE FUNCTION catalog_search.product_status_changed();

CREATE FUNCTION catalog_search.variants_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    TRUNCATE catalog_search.variant, catalog_search.word;
    RETURN NULL;
END
$$;

CREATE TRIGGER catalog_variant_search_truncate
    AFTER TRUNCATE ON public.catalog_variant
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search.variants_truncated();

-- The company's sellable variants matching a query, best first: an exact SKU or barcode
-- ('exact'), then variants containing every word of the query as a word or a prefix ('words',
-- ranked by ts_rank, shorter texts first). Only when nothing matched so: near spellings
-- ('similar'), where each query word stands for the three most similar words (pg_trgm) the
-- company's variants use, and the full-text search runs again with those.
-- search_terms (every word as a prefix) and search_barcode are NULL when the query has no
-- words or is no barcode. Archived variants and products are left out.
CREATE FUNCTION public.catalog_variant_search(
    search_query text,
    search_terms tsquery,
    search_words text[],
    search_barcode text,
    max_results integer
)
RETURNS TABLE (variant_id bigint, match text, score real)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    company bigint := NULLIF(current_setting('pasar.company_id', true), '')::bigint;
    listed integer;
    query_word text;
    known_word text;
    alternatives tsquery;
    respelled tsquery;
BEGIN
    IF company IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
        SELECT s.variant_id,
               CASE WHEN upper(s.sku) = upper(search_query) OR s.barcode = search_barcode
                    THEN 'exact' ELSE 'words' END,
               coalesce(ts_rank(s.search_vector, search_terms, 1), 0)::real
        FROM catalog_search.variant s
        WHERE s.company_id = company
          AND NOT s.variant_archived
          AND NOT s.product_archived
          AND (upper(s.sku) = upper(search_query)
               OR s.barcode = search_barcode
               OR s.search_vector @@ search_terms)
        ORDER BY 2, 3 DESC, s.variant_id
        LIMIT max_results;
    GET DIAGNOSTICS listed = ROW_COUNT;
    IF listed > 0 OR search_words IS NULL THEN
        RETURN;
    END IF;

    FOREACH query_word IN ARRAY search_words LOOP
        alternatives := NULL;
        IF length(query_word) < 3 THEN
            -- Too short to compare by trigrams: a size "m" or a number "12" stays a prefix.
            alternatives := to_tsquery('simple', quote_literal(query_word) || ':*');
        ELSE
            FOR known_word IN
                SELECT known.word
                FROM catalog_search.word known
                WHERE known.company_id = company
                  AND known.word OPERATOR(public.%) query_word
                ORDER BY public.similarity(known.word, query_word) DESC, known.word
                LIMIT 3
            LOOP
                alternatives := CASE WHEN alternatives IS NULL
                                     THEN plainto_tsquery('simple', known_word)
                                     ELSE alternatives || plainto_tsquery('simple', known_word)
                                END;
            END LOOP;
        END IF;
        IF alternatives IS NULL THEN
            RETURN;  -- a word like nothing the company sells
        END IF;
        respelled := CASE WHEN respelled IS NULL THEN alternatives
                          ELSE respelled && alternatives END;
    END LOOP;
    RETURN QUERY
        SELECT s.variant_id, 'similar', ts_rank(s.search_vector, respelled, 1)::real
        FROM catalog_search.variant s
        WHERE s.company_id = company
          AND NOT s.variant_archived
          AND NOT s.product_archived
          AND s.search_vector @@ respelled
        ORDER BY 3 DESC, s.variant_id
        LIMIT max_results;
END
$$;

-- Variants written before this migration (as the owner, past the RLS policies).
SELECT set_config('pasar.rls_bypass', 'on', true);
INSERT INTO catalog_search.variant (
    variant_id, company_id, product_id, sku, barcode, search_vector,
    variant_archived, product_archived
)
SELECT v.id, v.company_id, v.product_id, v.sku, v.barcode,
       catalog_search.document(v.search_text), v.status = 'archived', p.status = 'archived'
FROM public.catalog_variant v JOIN public.catalog_product p ON p.id = v.product_id;
INSERT INTO catalog_search.word (company_id, word)
SELECT DISTINCT s.company_id, lexeme
FROM catalog_search.variant s, unnest(s.search_vector);
SELECT set_config('pasar.rls_bypass', '', true);
"""

DROP_INDEX = r"""
DROP FUNCTION public.catalog_variant_search(text, tsquery, text[], text, integer);
DROP TRIGGER catalog_variant_search_truncate ON public.catalog_variant;
DROP TRIGGER catalog_product_search_index ON public.catalog_product;
DROP TRIGGER catalog_variant_search_index ON public.catalog_variant;
DROP SCHEMA catalog_search CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
    ]

    operations = [
        # pg_trgm: near spellings; btree_gin: lets the GIN indexes lead with company_id.
        TrigramExtension(),
        BtreeGinExtension(),
        migrations.RunSQL(CREATE_INDEX, DROP_INDEX),
    ]
