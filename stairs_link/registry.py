"""A registry: entries looked up by name, kept in registration order, where an unknown name
is an error listing the valid ones (``use one of: csv, xlsx, ...``).

Export formats (:mod:`stairs_link.io.base`) and comparison kinds
(:mod:`stairs_link.linkage.comparisons.base`) are each one :class:`Registry`; each layer
passes its own error class, so a user sees that layer's error and reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar


class Named(Protocol):
    """What a registry holds: anything with a ``name``."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(dict[str, T]):
    """Entries by their ``name``, in registration order (a dict: iterate, ``in``, ``del`` as usual).

    ``what`` names an entry in errors (``unknown export format 'sav'``); ``error`` is the
    layer's :class:`~stairs_link.errors.StairsLinkError` subclass, raised with ``reason``.
    """

    def __init__(self, what: str, error: Callable[..., Exception], reason: str) -> None:
        super().__init__()
        self.what = what
        self.error = error
        self.reason = reason

    def register(self, entry: T) -> T:
        """Add ``entry`` under its name (a later one of the same name replaces it); returns it."""
        self[entry.name] = entry
        return entry

    def lookup(self, name: str) -> T:
        """The entry ``name``; an unknown name is ``error`` listing the registered names."""
        if name not in self:
            raise self.error(f"unknown {self.what} '{name}'", reason=self.reason,
                             fix=f"use one of: {', '.join(self)}")
        return self[name]

    def names(self) -> tuple[str, ...]:
        """Every registered name, in registration order."""
        return tuple(self)
