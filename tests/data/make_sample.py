"""Cut the small MNIST sample in tests/data/mnist-sample/ from the full canonical IDX files.

Usage:  python tests/data/make_sample.py /path/to/full/mnist [--out tests/data/mnist-sample]

Standalone on purpose (stdlib only, no import of model.data.mnist): the sample is the reference the
reader is tested against, so it must not be produced by the code under test.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import struct
from pathlib import Path

TRAIN_COUNT = 2000  # first N training images/labels
TEST_COUNT = 1000  # first N test images/labels

# (source file, number of records kept)
SAMPLE = {
    "train-images-idx3-ubyte.gz": TRAIN_COUNT,
    "train-labels-idx1-ubyte.gz": TRAIN_COUNT,
    "t10k-images-idx3-ubyte.gz": TEST_COUNT,
    "t10k-labels-idx1-ubyte.gz": TEST_COUNT,
}


def cut_idx(source: Path, keep: int) -> bytes:
    """Return an IDX file holding the first `keep` records of `source`, header count rewritten."""
    with gzip.open(source, "rb") as f:
        magic = f.read(4)
        ndim = magic[3]
        dims = list(struct.unpack(f">{ndim}I", f.read(4 * ndim)))
        if dims[0] < keep:
            raise SystemExit(f"{source}: only {dims[0]} records, cannot keep {keep}")
        record_size = 1
        for d in dims[1:]:
            record_size *= d
        # Read only the prefix we keep: no need to inflate the whole 47 MB training set.
        payload = f.read(keep * record_size)
    if len(payload) != keep * record_size:
        raise SystemExit(f"{source}: truncated payload")
    dims[0] = keep
    return magic + struct.pack(f">{ndim}I", *dims) + payload


def main() -> None:
    """Write the four gzipped sample files and print their uncompressed MD5s."""
    parser = argparse.ArgumentParser(description="Cut the small MNIST test sample.")
    parser.add_argument("source", type=Path, help="folder holding the four full MNIST .gz files")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "mnist-sample")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, keep in SAMPLE.items():
        raw = cut_idx(args.source / name, keep)
        # mtime=0 and no file name in the gzip header: same input, same bytes.
        (args.out / name).write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
        print(f"{name}: {keep} records, uncompressed md5 {hashlib.md5(raw).hexdigest()}")


if __name__ == "__main__":
    main()
