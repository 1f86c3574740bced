"""A session's attendance and scores from a CSV or Excel file, with the customer import's rules:
the file is read whatever its encoding (UTF-8, GBK, Excel), checked row by row with a report
naming each problem, and saved all or nothing; "check only" saves nothing in any case. A
session's list is short (at most ``MAX_ROWS``), so it is read within the request."""
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.models import TrainingSession, User
from app.services.customer_import import ImportFileError, detect_encoding, iter_rows, sniff_kind
from app.services.training import sessions
from app.services.training.records import TrainingError

MAX_ROWS = 5_000
MAX_BYTES = 2 * 1024 * 1024
HEADERS = {
    "staff_no": ("员工编号", "工号", "编号", "staff number", "staff no", "staff_no", "employee number"),
    "name": ("姓名", "员工姓名", "name", "employee"),
    "store": ("门店编码", "门店", "store code", "store"),
    "attended": ("出席", "是否出席", "签到", "attended", "present"),
    "score": ("成绩", "分数", "考核成绩", "score"),
    "note": ("备注", "note", "notes"),
}
YES = {"是", "y", "yes", "1", "√", "✓", "出席", "到", "true", "x"}
NO = {"否", "n", "no", "0", "缺席", "未到", "false", ""}


def _fold(text) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text or "")).casefold().replace("*", "").split())


_INDEX = {_fold(alias): key for key, aliases in HEADERS.items() for alias in aliases}


@dataclass
class Line:
    row: int
    who: str
    entry: sessions.Entry | None = None
    problems: list[str] = field(default_factory=list)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read(session: TrainingSession, upload) -> list[Line]:
    """Every row of the file checked against the session's participants."""
    data = upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportFileError(str(_l("The file is larger than 2 MB; a session's list is far smaller. Check the "
                                     "file.")))
    # openpyxl opens a workbook only by its name's ending: the copy is named for what it holds.
    with tempfile.NamedTemporaryFile(suffix=".xlsx" if data.startswith(b"PK") else ".csv", delete=False) as handle:
        handle.write(data)
        path = Path(handle.name)
    try:
        kind = sniff_kind(path)
        rows = iter_rows(path, kind, detect_encoding(path) if kind == "csv" else None)
        try:
            _, header = next(rows)
        except StopIteration:
            raise ImportFileError(str(_l("The file is empty."))) from None
        columns = {}
        for index, cell in enumerate(header):
            key = _INDEX.get(_fold(cell))
            if key and key not in columns:
                columns[key] = index
        if "staff_no" not in columns and "name" not in columns:
            raise ImportFileError(str(_l("No staff number or name column found. The first row must hold the column "
                                         "headers, e.g. 员工编号, 姓名, 出席, 成绩, 备注.")))
        people = sessions.participants(session)
        by_number = {e.staff_no: e for e in people if e.staff_no}
        by_name: dict[str, list] = {}
        for e in people:
            by_name.setdefault(e.name, []).append(e)
        lines, seen = [], {}
        for number, cells in rows:
            if number > MAX_ROWS + 1:
                raise ImportFileError(str(_l("The file has more than %(n)d rows; a session's list is far smaller.",
                                             n=MAX_ROWS)))
            value = {key: _text(cells[i]) if i < len(cells) else "" for key, i in columns.items()}
            if not any(value.values()):
                continue
            line = Line(number, value.get("name") or value.get("staff_no") or "")
            employee = None
            if value.get("staff_no"):
                employee = by_number.get(value["staff_no"].upper())
                if employee is None:
                    line.problems.append(str(_l("No staff member of the invited stores has the staff number "
                                                "%(no)s.", no=value["staff_no"])))
            elif value.get("name"):
                found = by_name.get(value["name"], [])
                if value.get("store"):
                    found = [e for e in found if e.store.code == value["store"].upper()]
                if not found:
                    line.problems.append(str(_l("Nobody called %(name)s works in the invited stores.",
                                                name=value["name"])))
                elif len(found) > 1:
                    line.problems.append(str(_l("%(n)d staff are called %(name)s: give the staff number.",
                                                n=len(found), name=value["name"])))
                else:
                    employee = found[0]
            # No attendance column: a sign-in sheet, everyone listed came.
            attended_text = _fold(value["attended"]) if "attended" in value else "是"
            attended = attended_text in YES
            if attended_text not in YES | NO:
                line.problems.append(str(_l("Attended: write 是 or 否 (yes or no).")))
            score = value.get("score", "")
            if score:
                try:
                    sessions.parse_score(score)
                except TrainingError as error:
                    line.problems.append(str(error))
                if not attended and attended_text in NO and value.get("attended"):
                    line.problems.append(str(_l("A score is only for someone who attended.")))
            if len(value.get("note", "")) > 300:
                line.problems.append(str(_l("At most %(max)d characters.", max=300)))
            if employee is not None:
                line.who = f"{employee.name} · {employee.staff_no or ''}"
                if employee.id in seen:
                    line.problems.append(str(_l("Also on row %(row)d.", row=seen[employee.id])))
                seen.setdefault(employee.id, number)
                line.entry = sessions.Entry(employee.id, attended, score, value.get("note", ""))
            lines.append(line)
        if not lines:
            raise ImportFileError(str(_l("The file has no rows below its headers.")))
        return lines
    finally:
        path.unlink(missing_ok=True)


def save(session: TrainingSession, lines: list[Line], actor: User) -> int:
    """All the rows, or nothing: only called when no row has a problem."""
    assert not any(line.problems for line in lines)
    errors, changed = sessions.record(session, [line.entry for line in lines], actor)
    if errors:  # checked above; a participant gone meanwhile
        raise TrainingError(str(_l("The session's participants changed meanwhile; check the file again.")))
    return changed
