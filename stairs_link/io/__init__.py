"""Low-level input: reading export files (one registered reader per format), selecting values
inside nested records, and reading small files at local paths or object-store URLs.

Importing the package registers every reader, in this order (it is the order of ``format:``
values in docs and errors): csv, xlsx, json, ndjson, xml.
"""

# isort: off
# (import order is registration order)
from stairs_link.io import csv as _csv  # noqa: F401 - registers the csv reader
from stairs_link.io import xlsx as _xlsx  # noqa: F401 - registers the xlsx reader
from stairs_link.io import nested as _nested  # noqa: F401 - registers json, ndjson, xml
# isort: on
from stairs_link.io.base import (
    READERS,
    Batch,
    FileInfo,
    Reader,
    ReadOptions,
    close_batches,
    extension_formats,
    format_names,
    nested_formats,
    reader,
    register,
)
from stairs_link.io.readers import open_export, read_header

__all__ = [
    "READERS",
    "Batch",
    "FileInfo",
    "ReadOptions",
    "Reader",
    "close_batches",
    "extension_formats",
    "format_names",
    "nested_formats",
    "open_export",
    "read_header",
    "reader",
    "register",
]
