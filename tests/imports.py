"""Running an import in tests the way the job does: a job for the file, its dry run,
then (when asked) its commit."""

import io

import openpyxl

from crm_site import imports
from crm_site.models import ImportJob


def csv_bytes(rows):
    return ("\n".join(",".join(str(c) for c in row) for row in rows) + "\n").encode("utf-8-sig")


def xlsx_bytes(rows):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run_import(*, kind, store, actor, content, filename="f.csv", commit=True):
    """The job after its dry run and, when `commit` and the dry run found no error, after
    its commit."""
    job = imports.job_create(actor=actor, kind=kind, store=store, file_name=filename,
                             content=content)
    job = imports.job_run(job.pk)
    if commit and job.status == ImportJob.Status.CHECKED:
        imports.job_commit(job=job, actor=actor)
        job = imports.job_run(job.pk, commit=True)
    return job


def error_cells(job):
    return [(e["row"], e["column"]) for e in job.errors]
