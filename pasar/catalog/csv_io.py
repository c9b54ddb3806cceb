"""The catalog's CSV format: its columns, reading a file into checked rows, writing an export.

One row is one variant. Rows with the same product_name belong to one product, so
product-level columns (description, category, tax code ...) must agree within a product.
docs/catalog.md documents the columns for shop owners. Reading checks everything that can be
checked without the database and reports every problem as "Row 7, column price: ..." with
the row numbers a spreadsheet shows (the header is row 1).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pasar.catalog import rules
from pasar.catalog.models import ProductStatus, TaxCode, VariantStatus
from pasar.core.text import INVALID_CHARACTERS_CODE, has_control_characters

OPTION_PREFIX = "option:"
MAX_ROWS = 50_000


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    product_level: bool
    help: str


COLUMNS: tuple[Column, ...] = (
    Column("sku", True, False, "The variant's stock-keeping unit, unique in your company."),
    Column("product_name", True, True, "Rows with the same name form one product."),
    Column("price", True, False, "Selling price in SGD, e.g. 4.50."),
    Column("description", False, True, "Shown on the product page."),
    Column(
        "category", False, True, "A path such as 'Drinks > Coffee'; missing levels are created."
    ),
    Column("barcode", False, False, "EAN-13 or UPC-A; the check digit is verified."),
    Column("price_includes_gst", False, True, "true (the default) or false."),
    Column("cost", False, False, "Unit cost in SGD, up to 4 decimal places."),
    Column("tax_code", False, True, "SR (the default), ZR, ES33 or ESN33."),
    Column("status", False, True, "Product status: draft (the default), active or archived."),
    Column("variant_status", False, False, "active (the default) or archived."),
    Column("weight_g", False, True, "Weight in grams."),
    Column("length_mm", False, True, "Length in millimetres."),
    Column("width_mm", False, True, "Width in millimetres."),
    Column("height_mm", False, True, "Height in millimetres."),
)
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
REQUIRED = tuple(column.name for column in COLUMNS if column.required)
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0"})


@dataclass(frozen=True)
class RowError:
    """One problem in the file, worded so a person can find and fix it."""

    row: int | None
    column: str | None
    value: str
    problem: str
    code: str = "invalid"

    @property
    def message(self) -> str:
        if self.row is None:
            return self.problem
        where = f"Row {self.row}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.problem}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class ImportRow:
    """A checked row. `product` and `variant` hold only the columns the file has."""

    number: int
    sku: str
    product_name: str
    product: dict[str, Any] = field(default_factory=dict)
    variant: dict[str, Any] = field(default_factory=dict)
    category_path: list[str] | None = None

    @property
    def product_key(self) -> str:
        return self.product_name.lower()


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[ImportRow]
    errors: list[RowError]
    total_rows: int


def _unescape(cell: str) -> str:
    """Undo the export's guard against spreadsheet formulas (a leading apostrophe)."""
    if cell.startswith("'") and cell[1:].startswith(rules.FORMULA_PREFIXES):
        return cell[1:]
    return cell


def _escape(cell: str) -> str:
    return f"'{cell}" if cell.startswith(rules.FORMULA_PREFIXES) else cell


def _boolean(value: str) -> bool:
    word = value.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise rules.InvalidValue(f"'{value}' is not true or false.", code="not_a_boolean")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise rules.InvalidValue(
            "The file is not UTF-8 text. In Excel, save it as 'CSV UTF-8 (Comma delimited)'.",
            code="not_utf8",
        ) from None


def _header(raw: list[str]) -> tuple[list[str], list[RowError]]:
    columns = [_unescape(name).strip().lower().replace(" ", "_") for name in raw]
    # "option: Size" and "Option:size" both name the option "size".
    columns = [
        OPTION_PREFIX + name[len(OPTION_PREFIX) :].strip("_ ")
        if name.startswith(OPTION_PREFIX)
        else name
        for name in columns
    ]
    errors: list[RowError] = []
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            errors.append(
                RowError(1, name, name, f"the column '{name}' appears twice.", "duplicate_column")
            )
        seen.add(name)
        if name == OPTION_PREFIX:
            errors.append(
                RowError(
                    1,
                    name,
                    name,
                    "an option column needs a name, e.g. 'option:size'.",
                    "unknown_column",
                )
            )
        elif name not in COLUMNS_BY_NAME and not name.startswith(OPTION_PREFIX):
            known = ", ".join(column.name for column in COLUMNS)
            errors.append(
                RowError(
                    1,
                    name or "(blank)",
                    name,
                    f"'{name}' is not a column we know. Known columns: {known}, "
                    "and option:<name> for each variant option.",
                    "unknown_column",
                )
            )
    for required in REQUIRED:
        if required not in seen:
            errors.append(
                RowError(
                    1, None, "", f"the required column '{required}' is missing.", "missing_column"
                )
            )
    return columns, errors


def _check_cell(row: int, column: str, value: str, errors: list[RowError], clean: Any) -> Any:
    try:
        return clean(value)
    except rules.InvalidValue as error:
        errors.append(RowError(row, column, value, error.message, error.code))
        return None


PRODUCT_CLEANERS: dict[str, Any] = {
    "description": lambda value: value.strip(),
    "price_includes_gst": lambda value: _boolean(value) if value.strip() else True,
    "tax_code": lambda value: (
        rules.clean_tax_code(value) if value.strip() else TaxCode.STANDARD_RATED.value
    ),
    "status": lambda value: (
        rules.clean_product_status(value) if value.strip() else ProductStatus.DRAFT.value
    ),
    "weight_g": lambda value: rules.clean_whole_number(value, what="Weight"),
    "length_mm": lambda value: rules.clean_whole_number(value, what="Length"),
    "width_mm": lambda value: rules.clean_whole_number(value, what="Width"),
    "height_mm": lambda value: rules.clean_whole_number(value, what="Height"),
}
VARIANT_CLEANERS: dict[str, Any] = {
    "price": rules.clean_price,
    "barcode": rules.clean_barcode,
    "cost": lambda value: rules.clean_cost(value) if value.strip() else rules.clean_cost(0),
    "variant_status": lambda value: (
        rules.clean_variant_status(value) if value.strip() else VariantStatus.ACTIVE.value
    ),
}


def _category_path(value: str) -> list[str]:
    parts = [part.strip() for part in value.split(">")] if value.strip() else []
    if any(not part for part in parts):
        raise rules.InvalidValue(
            f"'{value}' has an empty level; write a path like 'Drinks > Coffee'."
        )
    if any(len(part) > 120 for part in parts):
        raise rules.InvalidValue("A category name has at most 120 characters.")
    return parts


def _read_row(
    number: int, columns: list[str], cells: list[str], errors: list[RowError]
) -> ImportRow | None:
    values = {
        name: _unescape(cells[index]) if index < len(cells) else ""
        for index, name in enumerate(columns)
    }
    count = len(errors)
    for name, value in values.items():
        if has_control_characters(value):
            problem = f"the {name} holds a control character (such as NUL), which cannot be stored."
            errors.append(RowError(number, name, "", problem, INVALID_CHARACTERS_CODE))
    if len(errors) > count:
        return None
    sku = _check_cell(number, "sku", values["sku"], errors, rules.clean_sku)
    product_name = values["product_name"].strip()
    if not product_name:
        errors.append(
            RowError(number, "product_name", "", "every row needs a product name.", "required")
        )
    elif len(product_name) > 200:
        errors.append(
            RowError(
                number,
                "product_name",
                product_name,
                "a product name has at most 200 characters.",
                "too_long",
            )
        )
    row = ImportRow(number=number, sku=sku or "", product_name=product_name)
    for name, value in values.items():
        if name in PRODUCT_CLEANERS:
            row.product[name] = _check_cell(number, name, value, errors, PRODUCT_CLEANERS[name])
        elif name in VARIANT_CLEANERS:
            key = "status" if name == "variant_status" else name
            row.variant[key] = _check_cell(number, name, value, errors, VARIANT_CLEANERS[name])
        elif name == "category":
            row.category_path = _check_cell(number, name, value, errors, _category_path)
    option_columns = [
        name for name in columns if name.startswith(OPTION_PREFIX) and name != OPTION_PREFIX
    ]
    if option_columns:
        raw_options = {
            name[len(OPTION_PREFIX) :]: values[name].strip()
            for name in option_columns
            if values[name].strip()
        }
        row.variant["options"] = _check_cell(
            number, option_columns[0], "", errors, lambda _: rules.clean_options(raw_options)
        )
    return row if len(errors) == count else None


def _check_across_rows(rows: list[ImportRow], errors: list[RowError]) -> None:
    """Duplicate SKUs and barcodes, and products whose rows disagree about the product."""
    sku_rows: dict[str, int] = {}
    barcode_rows: dict[str, int] = {}
    first_of_product: dict[str, ImportRow] = {}
    for row in rows:
        if row.sku in sku_rows:
            errors.append(
                RowError(
                    row.number,
                    "sku",
                    row.sku,
                    f"SKU '{row.sku}' is already on row {sku_rows[row.sku]}; "
                    "each SKU appears once.",
                    "duplicate_sku",
                )
            )
        else:
            sku_rows[row.sku] = row.number
        barcode = row.variant.get("barcode")
        if barcode:
            if barcode in barcode_rows:
                errors.append(
                    RowError(
                        row.number,
                        "barcode",
                        barcode,
                        f"barcode {barcode} is already on row {barcode_rows[barcode]}.",
                        "duplicate_barcode",
                    )
                )
            else:
                barcode_rows[barcode] = row.number
        first = first_of_product.setdefault(row.product_key, row)
        if first is row:
            continue
        for name, value in row.product.items():
            if value != first.product.get(name):
                errors.append(
                    RowError(
                        row.number,
                        name,
                        str(value if value is not None else ""),
                        f"differs from row {first.number} for the same product "
                        f"'{row.product_name}'; product details must be the same on every row "
                        "of a product.",
                        "product_mismatch",
                    )
                )
        if row.category_path != first.category_path:
            errors.append(
                RowError(
                    row.number,
                    "category",
                    " > ".join(row.category_path or []),
                    f"differs from row {first.number} for the same product '{row.product_name}'.",
                    "product_mismatch",
                )
            )
    rows_by_product: dict[str, list[ImportRow]] = {}
    for row in rows:
        rows_by_product.setdefault(row.product_key, []).append(row)
    for product_rows in rows_by_product.values():
        first = product_rows[0]
        if first.product.get("status") == ProductStatus.ACTIVE and all(
            row.variant.get("status") == VariantStatus.ARCHIVED for row in product_rows
        ):
            errors.append(
                RowError(
                    first.number,
                    "status",
                    "active",
                    "an active product needs at least one active variant.",
                    "no_active_variant",
                )
            )


def parse_catalog_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedFile:
    """Read and check a whole file. Rows with errors are left out of `rows`."""
    errors: list[RowError] = []
    try:
        text = _decode(data)
    except rules.InvalidValue as error:
        return ParsedFile([], [], [RowError(None, None, "", error.message, error.code)], 0)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as error:
        problem = f"The file is not valid CSV near row {reader.line_num}: {error}."
        return ParsedFile([], [], [RowError(None, None, "", problem, "malformed_csv")], 0)
    if not records or not any(cell.strip() for cell in records[0]):
        return ParsedFile(
            [],
            [],
            [
                RowError(
                    None,
                    None,
                    "",
                    "The file is empty; the first row must name the columns.",
                    "empty_file",
                )
            ],
            0,
        )
    columns, errors = _header(records[0])
    data_rows = [
        (number, cells)
        for number, cells in enumerate(records[1:], start=2)
        if any(cell.strip() for cell in cells)
    ]
    if errors:
        return ParsedFile(columns, [], errors, len(data_rows))
    if not data_rows:
        return ParsedFile(
            columns,
            [],
            [
                RowError(
                    None, None, "", "The file has a header but no rows to import.", "empty_file"
                )
            ],
            0,
        )
    if len(data_rows) > max_rows:
        problem = (
            f"The file has {len(data_rows)} rows; import at most {max_rows} at a time "
            "by splitting it."
        )
        return ParsedFile(
            columns, [], [RowError(None, None, "", problem, "too_many_rows")], len(data_rows)
        )
    rows: list[ImportRow] = []
    for number, cells in data_rows:
        if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
            errors.append(
                RowError(
                    number,
                    None,
                    "",
                    f"has {len(cells)} cells but the header names {len(columns)} columns; "
                    "a value may contain an unquoted comma.",
                    "extra_cells",
                )
            )
            continue
        row = _read_row(number, columns, cells, errors)
        if row is not None:
            rows.append(row)
    _check_across_rows(rows, errors)
    errors.sort(key=lambda error: error.row or 0)
    return ParsedFile(columns, rows, errors, len(data_rows))


# -- export ---------------------------------------------------------------------------------


def export_columns(option_names: Iterable[str]) -> list[str]:
    base = [column.name for column in COLUMNS]
    options = [OPTION_PREFIX + name for name in option_names]
    # Options sit after the category, where a person reading the sheet looks for them.
    at = base.index("category") + 1
    return base[:at] + options + base[at:]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def export_row(values: dict[str, Any], columns: list[str]) -> list[str]:
    """One variant as CSV cells; text that a spreadsheet would run as a formula is guarded."""
    return [_escape(_cell(values.get(name))) for name in columns]


def csv_lines(rows: Iterable[list[str]]) -> Iterator[str]:
    """Each row as one CSV-encoded line, for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
