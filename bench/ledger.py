"""The GST F5 over a quarter of 1,000,000 journal lines, against the database's own floor.

Writes a quarter (Q3 2026) of 1,000,000 journal lines for the benchmark's GST-registered
company (sales with output tax, bills with input tax, in entries of three lines) and 100,000
lines of the quarter before, in bulk as the tables' owner with triggers off (the balance
check would otherwise run per line: this measures the return, not the load). Then, in one
run, times each ROUNDS times:

- the F5 as the app computes it: `gst.services.f5_compute`, as the app role under row-level
  security, in the company's context (its tax-code sums and the period's revenue);
- the floor: one plain `SELECT tax_code, sum(tax_base), sum(tax) ... GROUP BY tax_code` over
  the quarter's lines, as the owner, on the same server.

Goal: the F5 under 2 s, and no more than 2x the floor.

Called by scripts/bench.sh against the prepared benchmark database:
`python -m bench.ledger --results-dir bench/results`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import django

from bench.run import report_head, write
from bench.sustained import owner_connection

NAME = "ledger"
LINES = 1_000_000
LINES_BEFORE = 100_000
ROUNDS = 5
START, END = date(2026, 7, 1), date(2026, 9, 30)
BEFORE = date(2026, 4, 1)
GOALS = {"f5_s": 2.0, "ratio_to_floor": 2.0}

# Entries of three lines: a sale (clearing / sales SR / GST output) or, one in three, a bill
# (inventory TX / GST input / payables). Amounts vary with the entry's number; GST is 9%.
ENTRIES_SQL = """
INSERT INTO ledger_journalentry
    (company_id, public_id, number, date, description, source, reference, posted_at)
SELECT %(company)s, gen_random_uuid(), %(prefix)s || n, %(start)s::date + (n %% %(days)s),
       'Bench entry', 'bench', '', now()
FROM generate_series(1, %(entries)s) AS n
"""
LINES_SQL = """
INSERT INTO ledger_journalline
    (company_id, entry_id, account_id, date, debit, credit, tax_code, tax_base, tax, description)
SELECT %(company)s, entry.id, account.id, entry.date,
       CASE WHEN part.debit THEN part.amount ELSE 0 END,
       CASE WHEN part.debit THEN 0 ELSE part.amount END,
       part.code, part.base, part.tax, ''
FROM (
    SELECT id, date, (id %% 3 = 0) AS bill, round(((id %% 9000) + 100) / 100.0, 2) AS value
    FROM ledger_journalentry WHERE company_id = %(company)s AND number LIKE %(prefix)s || '%%'
) AS entry
CROSS JOIN LATERAL (
    SELECT round(entry.value * 0.09, 2) AS gst
) AS tax
CROSS JOIN LATERAL (VALUES
    (1, CASE WHEN entry.bill THEN 'inventory' ELSE 'payment_clearing' END, true,
        CASE WHEN entry.bill THEN entry.value ELSE entry.value + tax.gst END,
        CASE WHEN entry.bill THEN 'TX' ELSE '' END,
        CASE WHEN entry.bill THEN entry.value ELSE 0 END, 0::numeric),
    (2, CASE WHEN entry.bill THEN 'gst_input' ELSE 'sales' END, entry.bill,
        CASE WHEN entry.bill THEN tax.gst ELSE entry.value END,
        CASE WHEN entry.bill THEN 'TX' ELSE 'SR' END,
        CASE WHEN entry.bill THEN 0 ELSE entry.value END,
        CASE WHEN entry.bill THEN tax.gst ELSE 0 END),
    (3, CASE WHEN entry.bill THEN 'payables' ELSE 'gst_output' END, false,
        CASE WHEN entry.bill THEN entry.value + tax.gst ELSE tax.gst END,
        CASE WHEN entry.bill THEN '' ELSE 'SR' END, 0::numeric,
        CASE WHEN entry.bill THEN 0 ELSE tax.gst END)
) AS part(position, role, debit, amount, code, base, tax)
JOIN ledger_account AS account
  ON account.company_id = %(company)s AND account.role = part.role
"""
FLOOR_SQL = """
SELECT tax_code, sum(tax_base), sum(tax) FROM ledger_journalline
WHERE date BETWEEN %s AND %s GROUP BY tax_code
"""


def load(company_id: int) -> dict[str, Any]:
    began = time.perf_counter()
    with owner_connection() as owner:
        # The owner's bulk load: no per-row triggers (the balance check is tested elsewhere).
        owner.execute("SET session_replication_role = replica")
        for prefix, start, days, lines in (
            ("JEQ-", START, (END - START).days + 1, LINES),
            ("JEP-", BEFORE, 91, LINES_BEFORE),
        ):
            params = {
                "company": company_id,
                "prefix": prefix,
                "start": start,
                "days": days,
                "entries": lines // 3 + (1 if lines % 3 else 0),
            }
            owner.execute(ENTRIES_SQL, params)
            owner.execute(LINES_SQL, params)
        owner.execute("SET session_replication_role = origin")
        owner.execute("VACUUM (ANALYZE) ledger_journalline")
        owner.execute("ANALYZE ledger_journalentry")
        (count,) = owner.execute(
            "SELECT count(*) FROM ledger_journalline WHERE date BETWEEN %s AND %s", [START, END]
        ).fetchone()
    return {"lines_in_quarter": count, "load_s": round(time.perf_counter() - began, 1)}


def _timed(run: Any) -> list[float]:
    run()  # warm the cache once, as a return is previewed before it is filed
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pasar.settings")
    django.setup()
    from bench.prepare import SHOP_SLUG
    from pasar.gst.services import f5_compute
    from pasar.ledger.services import chart_install
    from pasar.tenancy.models import Company

    company = Company.objects.get(shop_slug=SHOP_SLUG)
    company.gst_registered, company.gst_number = True, "M90399999X"
    company.save(update_fields=["gst_registered", "gst_number"])
    chart_install(company=company)
    print(f"Writing {LINES:,} journal lines in Q3 2026 and {LINES_BEFORE:,} before it ...")
    loaded = load(company.pk)

    def app() -> Any:
        return f5_compute(company=company, start=START, end=END)

    found = app()
    with owner_connection() as owner:
        floor = _timed(lambda: owner.execute(FLOOR_SQL, [START, END]).fetchall())
    f5 = _timed(app)
    f5_s, floor_s = statistics.median(f5), statistics.median(floor)
    report = {
        **report_head(NAME),
        "config": {
            "lines": f"{LINES:,} in {START} to {END}, {LINES_BEFORE:,} in the quarter before",
            "rounds": ROUNDS,
            "goals": GOALS,
        },
        **loaded,
        "f5_s": round(f5_s, 3),
        "f5_runs_s": [round(t, 3) for t in f5],
        "floor_s": round(floor_s, 3),
        "floor_runs_s": [round(t, 3) for t in floor],
        "ratio_to_floor": round(f5_s / floor_s, 2),
        "boxes": {f"box{n}": str(found.box(n)) for n in (1, 5, 6, 7, 8)},
    }
    report["goals_met"] = {
        "f5_s": f5_s < GOALS["f5_s"],
        "ratio_to_floor": report["ratio_to_floor"] <= GOALS["ratio_to_floor"],
    }
    print(
        f"F5 over {loaded['lines_in_quarter']:,} lines: {f5_s:.3f} s (median of {ROUNDS}); "
        f"plain GROUP BY: {floor_s:.3f} s; ratio {report['ratio_to_floor']:.2f}"
    )
    print(
        "Goals:",
        ", ".join(f"{n} {'met' if m else 'MISSED'}" for n, m in report["goals_met"].items()),
    )
    for written in write(report, args.results_dir):
        print(f"Written {written}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
