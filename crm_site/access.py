"""The role-by-action matrix: docs/access-matrix.csv is the one source of truth of who may
do what. Each row is one (record type, action): the permission that grants it, a "yes"
per role that holds it, and the page and API requests that perform it. The tests read the
same file: the "yes" cells must match the roles' permissions (given by the data
migrations), and every cell is tried through the page and the API. docs/access.md is
rendered from it (`python manage.py access_matrix --write`)."""

import csv
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from .roles import Role

MATRIX_PATH = Path(settings.BASE_DIR) / "docs" / "access-matrix.csv"
DOC_PATH = Path(settings.BASE_DIR) / "docs" / "access.md"
ROLES = [role.value for role in Role]
ANYONE = "*"  # any signed-in member of staff (own rows only, e.g. notifications)
NOBODY = "-"  # not offered to anyone: records are kept (refused by page and API)
BEGIN, END = "<!-- matrix:begin -->", "<!-- matrix:end -->"


@dataclass(frozen=True)
class Cell:
    record: str
    action: str
    permission: str
    roles: frozenset
    page: tuple
    api: tuple

    @property
    def key(self):
        return f"{self.record}: {self.action}"

    def allows(self, role):
        return role in self.roles


def _requests(text):
    """"GET /a/; POST /b/" -> (("GET", "/a/"), ("POST", "/b/"))."""
    out = []
    for part in (text or "").split(";"):
        part = part.strip()
        if part:
            method, url = part.split(None, 1)
            out.append((method.upper(), url.strip()))
    return tuple(out)


def load(path=MATRIX_PATH):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [Cell(record=row["record"], action=row["action"], permission=row["permission"],
                 roles=frozenset(r for r in ROLES if row[r].strip().lower() == "yes"),
                 page=_requests(row["page"]), api=_requests(row["api"])) for row in rows]


def role_grants(role_permissions, cell):
    """Whether a role holding `role_permissions` (set of "app.codename") may do `cell`.
    `a|b` in the permission column means either permission."""
    if cell.permission == ANYONE:
        return True
    if cell.permission == NOBODY:
        return False
    return any(perm in role_permissions for perm in cell.permission.split("|"))


def render_markdown(cells):
    """The matrix as a readable table, one line per (record type, action)."""
    head = ["record type", "action", *ROLES, "permission", "page", "API"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cell in cells:
        marks = ["✔" if cell.allows(role) else "·" for role in ROLES]
        page = "<br>".join(f"`{m} {u}`" for m, u in cell.page) or "—"
        api = "<br>".join(f"`{m} {u}`" for m, u in cell.api) or "—"
        perm = {ANYONE: "any signed-in user", NOBODY: "nobody"}.get(cell.permission,
                                                                   f"`{cell.permission}`")
        lines.append("| " + " | ".join([cell.record, cell.action, *marks, perm, page, api]) + " |")
    return "\n".join(lines) + "\n"


def render_document(text, cells):
    """`text` (docs/access.md) with the table between the markers replaced."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[:start] + "\n" + render_markdown(cells) + text[end:]
