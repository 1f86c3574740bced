"""Cells written to CSV and Excel files the portal hands out (exports, import error reports).

Text that begins like a formula (= + - @, or a tab or carriage return before one) would run as
one when the file is opened: a customer named ``=HYPERLINK(...)`` became a live link in Excel
(issue 8). The stored value stays as typed; only the copy in the file is made inert:
- in CSV, with an apostrophe in front (spreadsheets show the text, not a formula); the import
  takes that apostrophe off again (``from_csv_cell``), so an export imports as it was;
- in .xlsx, as a cell typed as text, which Excel never evaluates (openpyxl would otherwise
  store any string starting with "=" as a formula).
"""
from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def looks_like_formula(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    return "'" + value if looks_like_formula(value) else value


def from_csv_cell(value):
    """What ``csv_cell`` wrote, read back (an exported file imports as it was exported): the
    apostrophe in front of formula-like text goes; any other text stays as it is."""
    return value[1:] if isinstance(value, str) and value.startswith("'") and looks_like_formula(value[1:]) else value


def xlsx_row(sheet, values) -> list:
    """A row for a write-only sheet: formula-like text as text cells, everything else as is."""
    row = []
    for value in values:
        if looks_like_formula(value):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            value = cell
        row.append(value)
    return row
