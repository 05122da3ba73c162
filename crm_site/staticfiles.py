"""Static files for production: hashed names and compressed copies (whitenoise), so that
every asset is cached for a year and a changed one is fetched under its new name."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns):
    """Django's reference patterns minus source-map comments: the vendored bundles name
    .map files that are not shipped, which the manifest would refuse as missing."""
    kept = []
    for extension, rules in patterns:
        rules = tuple(rule for rule in rules
                      if "sourceMappingURL" not in (rule[0] if isinstance(rule, tuple) else rule))
        if rules:
            kept.append((extension, rules))
    return tuple(kept)


class HashedStaticFilesStorage(CompressedManifestStaticFilesStorage):
    patterns = _without_source_maps(ManifestStaticFilesStorage.patterns)
