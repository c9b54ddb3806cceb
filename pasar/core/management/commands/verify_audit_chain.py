import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pasar.core.audit import ChainAnchor, ChainReport, audit_chain_verify
from pasar.core.tenant import platform_access


class Command(BaseCommand):
    help = (
        "Recompute every audit chain (or one company's) and report the first broken entry in "
        "each. Exits with status 1 when any entry was changed, deleted or reordered."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--company", metavar="PUBLIC_ID", help="Check one company's chain.")
        parser.add_argument(
            "--anchors",
            metavar="FILE",
            type=Path,
            help=(
                "A JSON file of chain heads kept outside the database. Entries it recorded must "
                "still be there unchanged (catches a chain cut short at its end); when every "
                "chain is intact the file is updated to the current heads."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        anchors_file: Path | None = options["anchors"]
        recorded = _read_anchors(anchors_file) if anchors_file else {}
        with platform_access(reason="verify audit chain"):
            reports = audit_chain_verify(company_public_id=options["company"], anchors=recorded)

        for report in reports:
            self.stdout.write(_describe(report))
        broken = [report for report in reports if report.broken]
        if broken:
            raise CommandError(f"The audit log was tampered with: {len(broken)} chain(s) broken.")
        if anchors_file:
            heads = {
                report.key: {"sequence": report.head_sequence, "entry_hash": report.head_hash}
                for report in reports
            }
            # Chains not checked this time (--company) keep their earlier anchors.
            earlier = {
                key: {"sequence": anchor.sequence, "entry_hash": anchor.entry_hash}
                for key, anchor in recorded.items()
            }
            anchors_file.write_text(json.dumps(earlier | heads, indent=2, sort_keys=True) + "\n")
        self.stdout.write(self.style.SUCCESS(f"All {len(reports)} chain(s) intact."))


def _read_anchors(path: Path) -> dict[str, ChainAnchor]:
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text())
        return {
            key: ChainAnchor(sequence=int(head["sequence"]), entry_hash=str(head["entry_hash"]))
            for key, head in raw.items()
        }
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CommandError(f"{path} is not an anchors file written by this command.") from error


def _describe(report: ChainReport) -> str:
    name = report.label if report.key == report.label else f"{report.label} ({report.key})"
    if report.broken:
        return f"{name}: BROKEN at entry #{report.broken.sequence}: {report.broken.reason}."
    entries = "1 entry" if report.entries == 1 else f"{report.entries} entries"
    return f"{name}: {entries} intact, head #{report.head_sequence} {report.head_hash[:16]}"
