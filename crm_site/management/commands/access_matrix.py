"""Print the role-by-action matrix, or write it into docs/access.md (--write)."""

from django.core.management.base import BaseCommand

from crm_site import access


class Command(BaseCommand):
    help = "Render docs/access-matrix.csv as the table of docs/access.md."

    def add_arguments(self, parser):
        parser.add_argument("--write", action="store_true", help="update docs/access.md")

    def handle(self, *args, write=False, **options):
        cells = access.load()
        if not write:
            self.stdout.write(access.render_markdown(cells))
            return
        text = access.DOC_PATH.read_text(encoding="utf-8")
        access.DOC_PATH.write_text(access.render_document(text, cells), encoding="utf-8")
        self.stdout.write(f"{access.DOC_PATH} updated ({len(cells)} rows).")
