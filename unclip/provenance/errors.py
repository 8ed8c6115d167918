"""Provenance errors: a user-facing :class:`unclip.errors.UnclipError` naming what is wrong."""

from __future__ import annotations

from unclip.errors import UnclipError


class ProvenanceError(UnclipError):
    """A signing key or certificate that cannot be used, a file that is not a PNG, a missing package."""
