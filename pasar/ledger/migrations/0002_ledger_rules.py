"""The ledger's rules in the database, so that no path (raw SQL included) breaks them: an
entry balances when its transaction commits, posted rows never change, locked dates take no
entry. The checks run as the tables' owner (SECURITY DEFINER) so that they see every line of
the entry whatever context the transaction acts for when it commits."""

from django.db import migrations

RULES = """
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    -- The entry's id is in the column the trigger names (id on entries, entry_id on lines).
    checked bigint := (to_jsonb(NEW) ->> TG_ARGV[0])::bigint;
    debits numeric; credits numeric; lines integer;
BEGIN
    SELECT coalesce(sum(debit), 0), coalesce(sum(credit), 0), count(*)
      INTO debits, credits, lines
      FROM ledger_journalline WHERE entry_id = checked;
    IF lines < 2 OR debits <> credits THEN
        RAISE EXCEPTION 'journal entry % does not balance: % lines, debits %, credits %',
            checked, lines, debits, credits USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$fn$;

CREATE CONSTRAINT TRIGGER journal_entry_balanced
    AFTER INSERT ON ledger_journalentry DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced('id');
CREATE CONSTRAINT TRIGGER journal_line_balanced
    AFTER INSERT ON ledger_journalline DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced('entry_id');

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    RAISE EXCEPTION '% rows are never changed or deleted: post a reversal', TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END
$fn$;

CREATE TRIGGER journal_entry_immutable BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER journal_line_immutable BEFORE UPDATE OR DELETE ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER period_lock_immutable BEFORE UPDATE OR DELETE ON ledger_periodlock
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_refuse_locked_date() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_periodlock AS lock
               WHERE lock.company_id = NEW.company_id
                 AND NEW.date BETWEEN lock.start AND lock."end") THEN
        RAISE EXCEPTION 'no entry may be posted on %: the period is locked', NEW.date
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$fn$;

CREATE TRIGGER journal_entry_open_period BEFORE INSERT ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_locked_date();
CREATE TRIGGER journal_line_open_period BEFORE INSERT ON ledger_journalline
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_locked_date();
"""

UNDO = """
DROP TRIGGER IF EXISTS journal_line_open_period ON ledger_journalline;
DROP TRIGGER IF EXISTS journal_entry_open_period ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_locked_date();
DROP TRIGGER IF EXISTS period_lock_immutable ON ledger_periodlock;
DROP TRIGGER IF EXISTS journal_line_immutable ON ledger_journalline;
DROP TRIGGER IF EXISTS journal_entry_immutable ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS journal_line_balanced ON ledger_journalline;
DROP TRIGGER IF EXISTS journal_entry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunSQL(RULES, UNDO)]
