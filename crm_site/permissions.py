"""The API's permission check per action, the same permissions the pages require
(docs/access-matrix.csv lists them)."""

from rest_framework import permissions


class ActionPermissions(permissions.BasePermission):
    """A viewset names the permission of each action in `action_permissions`
    ({"list": "app.codename", ..., "*": default}); a user without it gets 403, rather
    than an empty list, like on the page. An action mapped to None is open to any
    signed-in user (scoping still limits the rows)."""

    def has_permission(self, request, view):
        perms = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None)
        perm = perms.get(action, perms.get("*"))
        return perm is None or request.user.has_perm(perm)
