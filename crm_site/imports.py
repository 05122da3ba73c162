"""One framework for every import of a spreadsheet (DMS exports, manufacturer scores).

An upload becomes an ImportJob; a Celery job (crm_site.tasks.import_job_run) reads it:

1. the file is read within bounds (crm_site.spreadsheets) and its columns are found by
   their headings (Chinese or English, with the usual aliases);
2. every cell goes through one of the parsers below (dates, money, whole numbers,
   yes/no, choices, and checks such as a mobile or a plate built with `checked`); a bad
   cell is an error naming its row and column;
3. the importer of the kind (registered by its app with `register`) checks the rows in
   batches against the database (one query per batch per kind of lookup) and plans each
   row as new, changed or unchanged (found by its natural key: VIN, mobile, repair-order
   number, policy number...). Two rows of the file with the same key are an error;
4. a dry run stops there and shows the counts; a commit does it all again inside one
   transaction and writes each batch set-based (bulk_create/bulk_update with history
   rows): any error rolls the whole file back. Unchanged rows are not written, so the
   same file imported twice changes nothing.

Progress is written through a connection of its own, so a page polling the job sees it
while the commit's transaction is still open. Row errors are kept on the job and
downloadable as a spreadsheet, in the language of the person who uploaded the file.
"""

import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import ImportJob
from .spreadsheets import read_table
from .validation import EARLIEST, LATEST

logger = logging.getLogger(__name__)

BATCH = 2000
# Errors kept on a job (the count is exact; the sheet lists the first ones).
MAX_ERRORS = 10_000
HISTORY_REASON = "import"

# Cell parsers: raw cell -> value, or ValidationError with the reason ---------------------------


# What crm_site.validation.refused_character refuses (control characters other than tab and
# line breaks, halves of surrogate pairs), as one expression: it runs on every cell.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text(raw):
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = str(raw).strip()
    if _CONTROL.search(value):
        raise ValidationError(_("不能包含控制字符。"))
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S",
                 "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S")


def day(raw):
    """A date from a date cell or text (2026-08-01, 2026/8/1, 20260801, 2026年8月1日)."""
    if raw in (None, ""):
        return None
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    else:
        value = _parse_day(text(raw))
    if not EARLIEST <= value <= LATEST:
        raise ValidationError(_("日期应在 %(earliest)s 至 %(latest)s 之间。") % {
            "earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    return value


def _parse_day(value):
    if not value:
        return None
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日", value)
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            pass
    raise ValidationError(_("日期“%(value)s”无法识别，请用 2026-08-01 格式。") % {"value": value})


MONEY_LIMIT = Decimal("9999999999")


def money(raw):
    """An amount in yuan: '¥12,800.50' -> Decimal('12800.50'); never negative."""
    value = text(raw).replace(",", "").replace("¥", "").replace("￥", "").replace("元", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(_("金额“%(value)s”不是数字。") % {"value": value}) from None
    if not number.is_finite() or not 0 <= number <= MONEY_LIMIT:
        raise ValidationError(_("金额应在 0 到 %(max)s 之间。") % {"max": MONEY_LIMIT})
    return number.quantize(Decimal("0.01"))


def decimal(raw):
    value = text(raw).replace(",", "")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValidationError(_("“%(value)s”不是数字。") % {"value": value}) from None
    if not number.is_finite():
        raise ValidationError(_("“%(value)s”不是数字。") % {"value": value})
    return number


def integer(raw):
    """A whole number (a spreadsheet's 12000.0 included)."""
    number = decimal(raw)
    if number is None:
        return None
    if number != number.to_integral_value() or not -(2**31) <= number < 2**31:
        raise ValidationError(_("“%(value)s”不是整数。") % {"value": text(raw)})
    return int(number)


_YES = {"是", "y", "yes", "true", "1", "有", "√", "本店"}
_NO = {"否", "n", "no", "false", "0", "无", "×", "外店", "他店"}


def yes_no(raw):
    """是/否, yes/no, Y/N, 1/0, √/×; empty is None (not stated)."""
    if isinstance(raw, bool):
        return raw
    value = text(raw).lower()
    if not value:
        return None
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValidationError(_("“%(value)s”应为“是”或“否”。") % {"value": value})


def choice(choices, aliases=None):
    """A parser for one of a TextChoices: its value, its label (in either language) or an
    alias ({text: value})."""
    extra = {key.lower(): value for key, value in (aliases or {}).items()}
    by_language = {}

    def known():
        language = translation.get_language()
        if language not in by_language:
            table = {value: value for value in choices.values}
            for member_value, label in choices.choices:
                with translation.override("zh-hans"):
                    table[str(label)] = member_value
                table[str(label)] = member_value
            by_language[language] = table
        return by_language[language]

    def parse(raw):
        value = text(raw)
        if not value:
            return ""
        found = known().get(value)
        if found is not None:
            return found
        if value.lower() in extra:
            return extra[value.lower()]
        with translation.override("zh-hans"):
            options = "、".join(str(label) for label in choices.labels)
        raise ValidationError(_("“%(value)s”不是有效选项（%(options)s）。") % {
            "value": value, "options": options})

    return parse


def checked(normalize):
    """A parser from a canonical-form check (customers.validators.normalize_mobile...):
    empty stays empty; the check's own message is the reason."""

    def parse(raw):
        value = text(raw)
        return normalize(value) if value else ""

    return parse


# Columns, rows and importers ------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # lazy translated heading, the one the template file uses
    parse: object = text
    required: bool = False
    aliases: tuple = ()
    max_length: int | None = None


@dataclass
class Row:
    number: int  # the spreadsheet's row number (the header is row 1)
    raw: dict
    values: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)  # [(column key, message)]
    action: str = ""  # new, update or same once planned
    record: object = None
    changes: dict = field(default_factory=dict)

    def error(self, key, message):
        self.errors.append((key, str(message)))

    @property
    def ok(self):
        return not self.errors


class Importer:
    """What one kind of file does. An app subclasses it, sets the class attributes and
    registers it (`register`); the framework calls:

    - `key(values)`: the row's natural key, or None (two rows with one key are an error);
    - `check(rows)`: for a batch of parsed rows, reads what they refer to in bulk and adds
      row errors (row.error(column key, message));
    - `plan(rows)`: for the good rows, finds the records they match and sets row.action
      ('new', 'update' or 'same'), row.record and row.changes;
    - `write(rows)`: on commit, saves the batch's new and changed rows set-based with
      history rows;
    - `finish()`: on commit, once after the last batch, inside the transaction.
    """

    kind = ""
    label = ""
    permission = ""
    columns = ()
    needs_store = True
    template_rows = ()  # example rows of the downloadable template

    def __init__(self, job):
        self.job = job
        self.store = job.store
        self.actor = job.created_by
        self.today = timezone.localdate()

    def key(self, values):
        return None

    def check(self, rows):
        pass

    def plan(self, rows):
        for row in rows:
            row.action = "new"

    def write(self, rows):
        raise NotImplementedError

    def finish(self):
        pass

    def label_of(self, key):
        for column in self.columns:
            if column.key == key:
                return str(column.label)
        return key


REGISTRY = {}


def register(importer_class):
    """Make an importer available by its kind (called from the app's AppConfig.ready)."""
    REGISTRY[importer_class.kind] = importer_class
    return importer_class


def update_with_history(objs, model, fields, *, actor):
    """UPDATE the given fields of `objs` in one statement per 5,000 rows (UPDATE ... FROM
    unnest of one array per field; Django's bulk_update builds a CASE per field whose cost
    grows with the square of the batch) and add their history rows."""
    from django.db import connection

    table = model._meta.db_table
    columns = [model._meta.get_field(name) for name in fields]
    for start in range(0, len(objs), 5000):
        chunk = objs[start:start + 5000]
        arrays = [[obj.pk for obj in chunk]]
        casts = [f"%s::{model._meta.pk.db_type(connection)}[]"]
        for column in columns:
            arrays.append([column.get_db_prep_save(getattr(obj, column.attname), connection)
                           for obj in chunk])
            casts.append(f"%s::{column.db_type(connection)}[]")
        names = ", ".join(f'"{c.column}" = v."{c.column}"' for c in columns)
        aliases = ", ".join(["id", *(f'"{c.column}"' for c in columns)])
        with connection.cursor() as cursor:
            cursor.execute(f'UPDATE "{table}" t SET {names} FROM unnest({", ".join(casts)}) '  # noqa: S608 - model names
                           f"AS v({aliases}) WHERE t.id = v.id", arrays)
    model.history.bulk_history_create(objs, update=True, default_user=actor,
                                      default_change_reason=HISTORY_REASON)


def importers_for(user):
    return {kind: importer for kind, importer in REGISTRY.items()
            if user.has_perm(importer.permission)}


def _norm_header(name):
    return re.sub(r"[\s_（）()*:：]", "", str(name or "")).lower()


def map_headers(importer_class, headers):
    """({column key: index in the row}, [labels of required columns missing])."""
    lookup = {}
    for column in importer_class.columns:
        for name in (str(column.label), column.key, *column.aliases):
            lookup[_norm_header(name)] = column.key
        with translation.override("zh-hans"):
            lookup[_norm_header(str(column.label))] = column.key
    mapping = {}
    for index, header in enumerate(headers or []):
        key = lookup.get(_norm_header(header))
        if key and key not in mapping:
            mapping[key] = index
    missing = [str(c.label) for c in importer_class.columns if c.required and c.key not in mapping]
    return mapping, missing


def parse_row(columns, mapping, number, cells):
    raw = {key: cells[index] if index < len(cells) else None for key, index in mapping.items()}
    row = Row(number=number, raw=raw)
    for column in columns:
        try:
            value = column.parse(raw.get(column.key))
        except ValidationError as error:
            row.error(column.key, " ".join(error.messages))
            continue
        if column.required and value in ("", None):
            row.error(column.key, _("必填。"))
        elif column.max_length and isinstance(value, str) and len(value) > column.max_length:
            row.error(column.key, _("最多 %(count)s 个字符。") % {"count": column.max_length})
        row.values[column.key] = value
    return row


def _blank(cells):
    return all(cell is None or str(cell).strip() == "" for cell in cells)


# Running a job -------------------------------------------------------------------------------


class _Progress:
    """Writes a job's progress through a connection of its own (autocommit), so it shows
    while the import's transaction is open."""

    def __init__(self, job):
        self.job_id = job.pk
        self.connection = None

    def __call__(self, processed, total=None, status=None):
        try:
            if self.connection is None:
                self.connection = connections.create_connection("default")
            sets, params = ["processed_rows = %s"], [processed]
            if total is not None:
                sets.append("total_rows = %s")
                params.append(total)
            if status is not None:
                sets.append("status = %s")
                params.append(status)
            with self.connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '1s'")
                cursor.execute(f"UPDATE {ImportJob._meta.db_table} SET {', '.join(sets)} "  # noqa: S608 - fixed names
                               "WHERE id = %s", [*params, self.job_id])
        except Exception:  # noqa: BLE001 - progress is a courtesy; the import goes on
            logger.warning("could not record the progress of import %s", self.job_id,
                           exc_info=True)

    def close(self):
        if self.connection is not None:
            self.connection.close()


class _Rejected(Exception):
    """Raised inside the commit's transaction to roll it back when a row is bad."""


def job_create(*, actor, kind, store, file_name, content, language="zh-hans"):
    """An ImportJob for an uploaded file (queued for its dry run)."""
    importer = REGISTRY.get(kind)
    if importer is None or not actor.has_perm(importer.permission):
        raise ValidationError({"kind": _("无权导入该类型的数据。")})
    if importer.needs_store and store is None:
        raise ValidationError({"store": _("请选择门店。")})
    return ImportJob.objects.create(
        kind=kind, store=store if importer.needs_store else None, created_by=actor,
        file_name=file_name[:200], content=content,
        content_hash=hashlib.sha256(content).hexdigest(), language=language[:10])


def job_run(job_id, *, commit=False):
    """Check (dry run) or commit one job. Returns the job as saved."""
    job = ImportJob.objects.select_related("store", "created_by").get(pk=job_id)
    with translation.override(job.language or "zh-hans"):
        progress = _Progress(job)
        try:
            return _run(job, commit=commit, progress=progress)
        finally:
            progress.close()


def _run(job, *, commit, progress):
    importer_class = REGISTRY[job.kind]
    importer = importer_class(job)
    started = ImportJob.Status.COMMITTING if commit else ImportJob.Status.CHECKING
    job.status, job.dry_run, job.processed_rows = started, not commit, 0
    job.save(update_fields=["status", "dry_run", "processed_rows"])
    try:
        table = read_table(bytes(job.content), job.file_name)
    except ValidationError as error:
        return _fail(job, [{"row": 1, "column": "", "value": "", "message": " ".join(error.messages)}])
    mapping, missing = map_headers(importer_class, table.headers)
    if missing:
        return _fail(job, [{"row": 1, "column": "", "value": "",
                            "message": _("缺少列：%(columns)s") % {"columns": "、".join(missing)}}])
    total = len(table)
    progress(0, total=total)
    counts = {"new": 0, "update": 0, "same": 0, "invalid": 0}
    errors, error_count = [], 0
    seen = {}

    def batches():
        batch = []
        for offset, cells in enumerate(table, start=2):
            if _blank(cells):
                continue
            batch.append(parse_row(importer_class.columns, mapping, offset, cells))
            if len(batch) >= BATCH:
                yield offset, batch
                batch = []
        if batch:
            yield total + 1, batch

    def one_batch(last, batch):
        nonlocal error_count
        for row in batch:
            key = importer.key(row.values) if row.ok else None
            if key is not None:
                if key in seen:
                    row.error("", _("与第 %(row)s 行重复。") % {"row": seen[key]})
                else:
                    seen[key] = row.number
        importer.check(batch)
        good = [row for row in batch if row.ok]
        importer.plan(good)
        good = [row for row in good if row.ok]
        for row in batch:
            if not row.ok:
                counts["invalid"] += 1
                for key, message in row.errors:
                    error_count += 1
                    if len(errors) < MAX_ERRORS:
                        value = row.raw.get(key)
                        errors.append({"row": row.number,
                                       "column": importer.label_of(key) if key else "",
                                       "value": "" if value is None else str(value)[:200],
                                       "message": message})
            else:
                counts[row.action] += 1
        if commit and not counts["invalid"]:
            importer.write([row for row in good if row.action in ("new", "update")])
        progress(last - 1)

    if not commit:
        for last, batch in batches():
            one_batch(last, batch)
        job.status = ImportJob.Status.REJECTED if error_count else ImportJob.Status.CHECKED
        job.checked_at = timezone.now()
    else:
        try:
            with transaction.atomic():
                for last, batch in batches():
                    one_batch(last, batch)
                    if counts["invalid"]:
                        raise _Rejected
                importer.finish()
        except _Rejected:
            job.status = ImportJob.Status.REJECTED
        else:
            job.status = ImportJob.Status.COMMITTED
            job.committed_at = timezone.now()
    job.total_rows = total
    job.processed_rows = total
    job.counts, job.errors, job.error_count = counts, errors, error_count
    job.finished_at = timezone.now()
    job.save()
    return job


def _fail(job, errors):
    job.status = ImportJob.Status.REJECTED
    job.errors, job.error_count = errors, len(errors)
    job.finished_at = timezone.now()
    job.save()
    return job


def job_commit(*, job, actor):
    """Check that a checked job may be committed by `actor` and mark it queued for it."""
    if job.status != ImportJob.Status.CHECKED:
        raise ValidationError({"status": _("只有检查无误的文件才能确认导入。")})
    importer = REGISTRY[job.kind]
    if not actor.has_perm(importer.permission):
        raise ValidationError({"kind": _("无权导入该类型的数据。")})
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.QUEUED, dry_run=False, processed_rows=0)
    if not updated:
        raise ValidationError({"status": _("该文件已在导入中。")})
    job.refresh_from_db()
    return job


def earlier_import(job):
    """An earlier committed job of the same file, kind and store, else None."""
    return (ImportJob.objects.filter(content_hash=job.content_hash, kind=job.kind,
                                     store=job.store, status=ImportJob.Status.COMMITTED)
            .exclude(pk=job.pk).only("id", "committed_at").order_by("-committed_at").first())


def error_sheet(job):
    """The job's row errors as .xlsx bytes: row, column, value, reason."""
    import openpyxl

    from .exports import sheet_append

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(_("错误"))
    sheet_append(sheet, [_("行号"), _("列"), _("单元格内容"), _("原因")])
    for error in job.errors:
        sheet_append(sheet, [error["row"], error["column"], error["value"], error["message"]])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_sheet(importer_class):
    """An empty file with the importer's headings (and its example rows) to fill in."""
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(str(importer_class.label))
    sheet.append([str(column.label) for column in importer_class.columns])
    for row in importer_class.template_rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
