"""Moved to :mod:`stairs_link.io` (readers sit below ``mapping`` and ``adapt``, so every layer
can use them). These re-exports keep imports written before the move working while work
started before it lands; import from ``stairs_link.io`` in new code. To be removed.
"""

from stairs_link.io.base import (  # noqa: F401
    CHUNK_BYTES,
    DEFAULT_BLOCK_BYTES,
    TEXT,
    Batch,
    FileInfo,
    close_batches,
    sha256_and_encoding,
    skip_footer,
)
from stairs_link.io.base import unique_header as _unique_header  # noqa: F401
from stairs_link.io.csv import (  # noqa: F401
    DELIMITER_CANDIDATES,
    arrow_encoding,
    count_csv_rows,
    csv_batches,
    detect_delimiter,
    open_csv,
)
from stairs_link.io.readers import open_export, read_header  # noqa: F401
from stairs_link.io.xlsx import open_xlsx  # noqa: F401
