"""Writing result tables (predictions, embeddings) by file extension, atomically."""
import os

from gru4rec_fast._atomic import atomic_write
from gru4rec_fast.cli.train import CLIError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path, option):
    """The format of an output path from its extension; CLIError for unknown ones."""
    ext = os.path.splitext(str(path))[1].lower()
    if ext not in FORMATS:
        raise CLIError(f"{option}: cannot tell the format of {path!r} from its extension; "
                       f"use one of {', '.join(sorted(FORMATS))}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise CLIError(f"{option}: folder {folder} does not exist")
    return FORMATS[ext]


def write_table(df, path, option="output"):
    """Write ``df`` as CSV, TSV or Parquet (by extension), atomically: a temporary file
    in the same folder, then os.replace."""
    fmt = table_format(path, option)

    def write(tmp):
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            df.to_csv(tmp, sep="," if fmt == "csv" else "\t", index=False)
    atomic_write(path, write)
