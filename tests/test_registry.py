"""The one registry shape export formats and comparison kinds share: registration order,
and an unknown name raising the layer's own error with its reason, listing the valid names."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from stairs_link.errors import InputFileError, LinkageError
from stairs_link.io import READERS, format_names, reader
from stairs_link.linkage.comparisons import KINDS, kind
from stairs_link.registry import Registry


@dataclass(frozen=True)
class Colour:
    name: str


def test_lookup_keeps_registration_order_and_lists_the_valid_names() -> None:
    colours: Registry[Colour] = Registry("colour", LinkageError, reason="bad_colour")
    red, blue = Colour("red"), Colour("blue")
    assert colours.register(red) is red and colours.register(blue) is blue
    assert colours.lookup("blue") is blue and colours.names() == ("red", "blue")
    with pytest.raises(LinkageError, match="unknown colour 'green'") as err:
        colours.lookup("green")
    assert err.value.reason == "bad_colour" and err.value.fix == "use one of: red, blue"


def test_formats_and_kinds_are_registries_raising_their_layers_errors() -> None:
    assert isinstance(READERS, Registry) and isinstance(KINDS, Registry)
    assert format_names() == ("csv", "xlsx", "json", "ndjson", "xml")
    with pytest.raises(InputFileError, match="unknown export format 'sav'") as err:
        reader("sav")
    assert err.value.reason == "unknown_format" and err.value.fix == "use one of: csv, xlsx, json, ndjson, xml"
    with pytest.raises(LinkageError, match="unknown comparison kind 'soundalike'") as err2:
        kind("soundalike")
    assert err2.value.reason == "bad_config" and err2.value.fix.startswith("use one of: name, date, exact")
