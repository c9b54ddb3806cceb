"""Issued documents in the database's keeping: a tax invoice, receipt or credit note is never
deleted and never changes, but for how often it was printed and when it was emailed; the
credit notes of a document never add up to more than it. A bill's lines and payments, like
journal lines, are never changed."""

from django.db import migrations

RULES = """
CREATE OR REPLACE FUNCTION ledger_document_keep() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'DELETE' OR (to_jsonb(NEW) - 'outputs' - 'emailed_at')
                           IS DISTINCT FROM (to_jsonb(OLD) - 'outputs' - 'emailed_at') THEN
        RAISE EXCEPTION 'an issued document is never changed or deleted: issue a credit note'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER document_kept BEFORE UPDATE OR DELETE ON ledger_document
    FOR EACH ROW EXECUTE FUNCTION ledger_document_keep();

CREATE OR REPLACE FUNCTION ledger_credit_within_document() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    credited numeric; invoiced numeric;
BEGIN
    SELECT total INTO invoiced FROM ledger_document WHERE id = NEW.corrects_id;
    SELECT coalesce(sum(total), 0) INTO credited FROM ledger_document
     WHERE corrects_id = NEW.corrects_id;
    IF credited > invoiced THEN
        RAISE EXCEPTION 'credit notes (%) would exceed the document they correct (%)',
            credited, invoiced USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER credit_note_within_document
    AFTER INSERT ON ledger_document DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.corrects_id IS NOT NULL)
    EXECUTE FUNCTION ledger_credit_within_document();

CREATE TRIGGER bill_line_immutable BEFORE UPDATE OR DELETE ON ledger_supplierbillline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER bill_payment_immutable BEFORE UPDATE OR DELETE ON ledger_billpayment
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

UNDO = """
DROP TRIGGER bill_payment_immutable ON ledger_billpayment;
DROP TRIGGER bill_line_immutable ON ledger_supplierbillline;
DROP TRIGGER credit_note_within_document ON ledger_document;
DROP FUNCTION ledger_credit_within_document();
DROP TRIGGER document_kept ON ledger_document;
DROP FUNCTION ledger_document_keep();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_documents_and_bills")]

    operations = [migrations.RunSQL(RULES, UNDO)]
