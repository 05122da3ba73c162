"""API of the complaints app: serializers and viewsets registered on the /api/v1/ router."""


def register(router):
    """Add this app's viewsets to the /api/v1/ router."""
