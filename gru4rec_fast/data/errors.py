"""The one exception type of the data layer.

Every problem found in user data raises :class:`DataError` (a ``ValueError``) whose
message names the source (file path, or ``<DataFrame>``), the column and the problem,
e.g. ``train.tsv: column 'ItemId' has 3 missing values (first at row 17)``.
Row numbers are 0-based positions among the data rows (line ``row + 2`` of a text file
with a header line).
"""


class DataError(ValueError):
    """Invalid or unusable session data; the message says where and what."""


def source_name(source):
    """How messages refer to a data source: its path, or ``<DataFrame>``."""
    if source is None:
        return "<DataFrame>"
    return str(source)
