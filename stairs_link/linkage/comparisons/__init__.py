"""Comparison kinds, one module each, registered by name (see :mod:`.base`).

Importing the package registers every kind, in this order: name, date, exact, string,
postcode, identifier, bloom. Adding a kind is one module calling :func:`register` and one
import line here.
"""

# isort: off
# (import order is registration order)
from stairs_link.linkage.comparisons import name as _name  # noqa: F401 - registers name
from stairs_link.linkage.comparisons import date as _date  # noqa: F401 - registers date
from stairs_link.linkage.comparisons import string as _string  # noqa: F401 - registers exact, string
from stairs_link.linkage.comparisons import postcode as _postcode  # noqa: F401 - registers postcode
from stairs_link.linkage.comparisons import identifier as _identifier  # noqa: F401 - registers identifier
from stairs_link.linkage.comparisons import bloom as _bloom  # noqa: F401 - registers bloom
# isort: on
from stairs_link.linkage.comparisons.base import (
    GAMMA_MISSING,
    KINDS,
    Comparison,
    ComparisonKind,
    kind,
    kind_names,
    register,
)

__all__ = ["GAMMA_MISSING", "KINDS", "Comparison", "ComparisonKind", "kind", "kind_names", "register"]
