"""Tests for model/data/mnist.py: IDX and CSV readers, file discovery and data-folder resolution."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from model.data.mnist import (
    DataError,
    DataNotFoundError,
    data_files,
    default_cache_dir,
    load_mnist,
    read_csv,
    read_idx,
    resolve_data_dir,
    sha256_file,
)

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist-sample"
TRAIN_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


# --- helpers: build small MNIST-format files ----------------------------------------------------


def idx_bytes(array: NDArray[np.uint8], magic: int | None = None) -> bytes:
    """Serialise a uint8 array as IDX: big-endian magic, one uint32 per dimension, raw bytes."""
    if magic is None:
        magic = 0x0800 + array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write(path: Path, content: bytes, *, gzipped: bool = False) -> Path:
    path.write_bytes(gzip.compress(content, mtime=0) if gzipped else content)
    return path


def sample_arrays(n: int = 5, seed: int = 0) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_split(
    folder: Path, prefix: str, images: NDArray[np.uint8], labels: NDArray[np.uint8]
) -> tuple[Path, Path]:
    return (
        write(folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images), gzipped=True),
        write(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels), gzipped=True),
    )


def csv_text(images: NDArray[np.uint8], labels: NDArray[np.uint8], *, header: bool = True) -> str:
    lines = [",".join(["label"] + [f"pixel{i}" for i in range(784)])] if header else []
    for label, image in zip(labels, images, strict=True):
        lines.append(",".join(str(v) for v in [label, *image.ravel()]))
    return "\n".join(lines) + "\n"


def replace_line(text: str, line_number: int, new_line: str) -> str:
    lines = text.splitlines()
    lines[line_number - 1] = new_line
    return "\n".join(lines) + "\n"


# --- IDX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("gzipped", [True, False], ids=["gzip", "raw"])
def test_read_idx_round_trips_images_and_labels(tmp_path: Path, gzipped: bool) -> None:
    images, labels = sample_arrays()
    got_images = read_idx(write(tmp_path / "i", idx_bytes(images), gzipped=gzipped))
    got_labels = read_idx(write(tmp_path / "l", idx_bytes(labels), gzipped=gzipped))
    assert got_images.shape == (5, 28, 28)
    assert got_images.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    assert got_labels.shape == (5,)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_idx_detects_gzip_by_magic_bytes_not_by_name(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    gzipped_without_suffix = write(tmp_path / "labels-idx1-ubyte", idx_bytes(labels), gzipped=True)
    raw_with_gz_suffix = write(tmp_path / "labels-idx1-ubyte.gz", idx_bytes(labels))
    np.testing.assert_array_equal(read_idx(gzipped_without_suffix), labels)
    np.testing.assert_array_equal(read_idx(raw_with_gz_suffix), labels)


def test_read_idx_returns_a_writable_array(tmp_path: Path) -> None:
    images, _ = sample_arrays()
    got = read_idx(write(tmp_path / "i", idx_bytes(images)))
    got[0, 0, 0] = 7  # callers may shuffle or augment in place
    assert got[0, 0, 0] == 7


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 12), gzipped=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_read_idx_round_trips_any_count(
    tmp_path_factory: pytest.TempPathFactory, n: int, gzipped: bool, seed: int
) -> None:
    images, labels = sample_arrays(n, seed)
    folder = tmp_path_factory.mktemp("idx")
    assert read_idx(write(folder / "i", idx_bytes(images), gzipped=gzipped)).shape == (n, 28, 28)
    np.testing.assert_array_equal(
        read_idx(write(folder / "l", idx_bytes(labels), gzipped=gzipped)), labels
    )


def test_read_idx_rejects_wrong_magic_number(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    path = write(tmp_path / "l", idx_bytes(labels.reshape(5, 1), magic=0x0802))  # 2 dimensions
    with pytest.raises(DataError, match=r"magic number 2050, expected 2051 .* or 2049") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_a_file_that_is_not_idx(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.txt", b"hello, this is not MNIST")
    with pytest.raises(DataError, match="not an IDX file") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_non_ubyte_data_type(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    path = write(tmp_path / "l", idx_bytes(labels, magic=0x0D01))  # 0x0d: float32
    with pytest.raises(DataError, match=r"data type 0x0d, expected 0x08"):
        read_idx(path)


def test_read_idx_rejects_images_that_are_not_28x28(tmp_path: Path) -> None:
    path = write(tmp_path / "i", idx_bytes(np.zeros((2, 32, 32), dtype=np.uint8)))
    with pytest.raises(DataError, match="32x32, expected 28x28"):
        read_idx(path)


def test_read_idx_rejects_truncated_payload(tmp_path: Path) -> None:
    images, _ = sample_arrays()
    path = write(tmp_path / "i.gz", idx_bytes(images)[:-100], gzipped=True)
    with pytest.raises(DataError, match=r"truncated: header declares 5 records") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_rejects_truncated_header(tmp_path: Path) -> None:
    images, _ = sample_arrays()
    path = write(tmp_path / "i", idx_bytes(images)[:10])  # magic + 1.5 of 3 dimensions
    with pytest.raises(DataError, match="truncated IDX header"):
        read_idx(path)


def test_read_idx_rejects_trailing_bytes(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    path = write(tmp_path / "l", idx_bytes(labels) + b"\x00\x00\x00")
    with pytest.raises(DataError, match="3 unexpected trailing bytes"):
        read_idx(path)


def test_read_idx_rejects_labels_outside_0_to_9(tmp_path: Path) -> None:
    labels = np.array([1, 2, 3, 10, 4], dtype=np.uint8)
    path = write(tmp_path / "l", idx_bytes(labels))
    with pytest.raises(DataError, match="label 10 at index 3 is not a digit") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_reports_truncated_gzip_as_data_error(tmp_path: Path) -> None:
    images, _ = sample_arrays()
    compressed = gzip.compress(idx_bytes(images))
    path = write(tmp_path / "i.gz", compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="corrupt gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_reports_bad_gzip_crc_as_data_error(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    compressed = bytearray(gzip.compress(idx_bytes(labels)))
    compressed[-8] ^= 0xFF  # the trailer is CRC32 then size: spoil the CRC only
    path = write(tmp_path / "l.gz", bytes(compressed))
    with pytest.raises(DataError, match=r"corrupt gzip.*CRC") as info:
        read_idx(path)
    assert str(path) in str(info.value)


# --- CSV ---------------------------------------------------------------------------------------


def test_read_csv_reads_header_label_and_pixels(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    path = tmp_path / "mnist_train.csv"
    path.write_text(csv_text(images, labels))
    got_images, got_labels = read_csv(path)
    assert got_images.shape == (5, 28, 28)
    assert got_images.dtype == np.uint8
    assert got_labels.dtype == np.uint8
    np.testing.assert_array_equal(got_images, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_csv_accepts_a_file_without_header(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    path = tmp_path / "mnist_train.csv"
    path.write_text(csv_text(images, labels, header=False))
    got_images, got_labels = read_csv(path)
    assert len(got_labels) == 5  # the first data row is not mistaken for a header
    np.testing.assert_array_equal(got_labels, labels)
    np.testing.assert_array_equal(got_images, images)


def test_read_csv_without_header_numbers_lines_from_the_first_row(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    path = tmp_path / "mnist_train.csv"
    path.write_text(replace_line(csv_text(images, labels, header=False), 3, "12" + ",0" * 784))
    with pytest.raises(DataError, match="line 3: label 12"):
        read_csv(path)


def test_read_csv_accepts_windows_line_endings_and_a_byte_order_mark(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    path = tmp_path / "mnist_train.csv"
    path.write_bytes(b"\xef\xbb\xbf" + csv_text(images, labels).replace("\n", "\r\n").encode())
    np.testing.assert_array_equal(read_csv(path)[1], labels)


@pytest.mark.parametrize(
    ("line", "content", "message"),
    [
        (3, "5,1,2,3", r"line 3: 4 columns, expected 785"),
        (4, "", r"line 4: empty line"),
        (2, "7" + ",0" * 200 + ",x" + ",0" * 583, r"line 2, column 202: 'x' is not an integer"),
        (2, "7" + ",0" * 10 + ",1.5" + ",0" * 773, r"line 2, column 12: '1.5' is not an integer"),
        (5, "10" + ",0" * 784, r"line 5: label 10 is not a digit 0-9"),
        (3, "-1" + ",0" * 784, r"line 3: label -1 is not a digit 0-9"),
        (6, "3" + ",0" * 99 + ",256" + ",0" * 684, r"line 6, column 101: pixel 256 outside 0-255"),
        (2, "3" + ",0" * 783 + ",-1", r"line 2, column 785: pixel -1 outside 0-255"),
        (2, "3" + ",99999" + ",0" * 783, r"line 2, column 2: 99999 outside 0-255"),
    ],
    ids=[
        "too-few-columns",
        "blank-line",
        "letter",
        "decimal",
        "label-10",
        "label-negative",
        "pixel-256",
        "pixel-negative",
        "pixel-overflow",
    ],
)
def test_read_csv_names_file_and_line_of_a_bad_row(
    tmp_path: Path, line: int, content: str, message: str
) -> None:
    images, labels = sample_arrays()
    path = tmp_path / "mnist_train.csv"
    path.write_text(replace_line(csv_text(images, labels), line, content))
    with pytest.raises(DataError, match=message) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_read_csv_counts_lines_correctly_past_the_first_parse_chunk(tmp_path: Path) -> None:
    rows = np.zeros((5000, 785), dtype=np.uint8)
    rows[4500, 0] = 11  # file line 4502: header is line 1, row 0 is line 2
    path = tmp_path / "mnist_train.csv"
    with path.open("w") as f:
        f.write("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n")
        np.savetxt(f, rows, fmt="%d", delimiter=",")
    with pytest.raises(DataError, match="line 4502: label 11"):
        read_csv(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("label," + ",".join(f"pixel{i}" for i in range(784)) + "\n", "no data rows"),
        (
            ",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(["0"] * 784) + "\n",
            "line 1: header has 784 columns, expected 785",
        ),
    ],
    ids=["empty", "only-blank-lines", "header-only", "unlabelled-kaggle-test"],
)
def test_read_csv_rejects_files_without_labelled_rows(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "mnist_test.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_csv(path)
    assert str(path) in str(info.value)


def test_read_csv_rejects_binary_garbage(tmp_path: Path) -> None:
    path = write(tmp_path / "mnist_train.csv", b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match="not a text CSV file"):
        read_csv(path)


# --- load_mnist / data_files -------------------------------------------------------------------


def test_load_mnist_reads_both_splits_from_canonical_names(tmp_path: Path) -> None:
    train_images, train_labels = sample_arrays(6, seed=1)
    test_images, test_labels = sample_arrays(3, seed=2)
    write_split(tmp_path, "train", train_images, train_labels)
    write_split(tmp_path, "t10k", test_images, test_labels)
    images, labels = load_mnist(tmp_path, "train")
    np.testing.assert_array_equal(images, train_images)
    np.testing.assert_array_equal(labels, train_labels)
    images, labels = load_mnist(tmp_path, "test")
    np.testing.assert_array_equal(images, test_images)
    np.testing.assert_array_equal(labels, test_labels)


def test_load_mnist_accepts_uncompressed_dotted_names(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    write(tmp_path / "t10k-images.idx3-ubyte", idx_bytes(images))
    write(tmp_path / "t10k-labels.idx1-ubyte", idx_bytes(labels))
    assert data_files(tmp_path, "test") == [
        tmp_path / "t10k-images.idx3-ubyte",
        tmp_path / "t10k-labels.idx1-ubyte",
    ]
    np.testing.assert_array_equal(load_mnist(tmp_path, "test")[1], labels)


def test_load_mnist_rejects_image_and_label_count_mismatch(tmp_path: Path) -> None:
    images, labels = sample_arrays(5)
    images_path, labels_path = write_split(tmp_path, "train", images, labels[:4])
    with pytest.raises(DataError, match=r"has 5 images but .* has 4 labels") as info:
        load_mnist(tmp_path, "train")
    assert str(images_path) in str(info.value)
    assert str(labels_path) in str(info.value)


def test_load_mnist_rejects_labels_stored_under_the_images_name(tmp_path: Path) -> None:
    _, labels = sample_arrays()
    write(tmp_path / "train-images-idx3-ubyte", idx_bytes(labels))
    write(tmp_path / "train-labels-idx1-ubyte", idx_bytes(labels))
    with pytest.raises(DataError, match="train-images-idx3-ubyte: holds labels"):
        load_mnist(tmp_path, "train")


def test_load_mnist_falls_back_to_kaggle_csv(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    (tmp_path / "mnist_test.csv").write_text(csv_text(images, labels))
    assert data_files(tmp_path, "test") == [tmp_path / "mnist_test.csv"]
    np.testing.assert_array_equal(load_mnist(tmp_path, "test")[0], images)


def test_load_mnist_uses_generic_csv_name_only_with_a_label_column(tmp_path: Path) -> None:
    images, labels = sample_arrays()
    (tmp_path / "train.csv").write_text(csv_text(images, labels))
    unlabelled = "\n".join(",".join(["0"] * 784) for _ in range(3))
    (tmp_path / "test.csv").write_text(
        ",".join(f"pixel{i}" for i in range(784)) + "\n" + unlabelled
    )
    np.testing.assert_array_equal(load_mnist(tmp_path, "train")[1], labels)
    with pytest.raises(DataNotFoundError, match="no MNIST test data"):
        load_mnist(tmp_path, "test")


def test_load_mnist_names_the_missing_half_of_a_pair(tmp_path: Path) -> None:
    images, _ = sample_arrays()
    write(tmp_path / "train-images-idx3-ubyte.gz", idx_bytes(images), gzipped=True)
    with pytest.raises(DataNotFoundError, match="but no train-labels-idx1-ubyte"):
        load_mnist(tmp_path, "train")


def test_load_mnist_on_empty_folder_says_how_to_get_the_data(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(tmp_path, "train")
    message = str(info.value)
    assert "`digits download`" in message
    assert "--data DIR" in message
    assert "DIGITS_DATA" in message
    assert "train-images-idx3-ubyte" in message
    assert "mnist_train.csv" in message
    assert isinstance(info.value, FileNotFoundError)


def test_data_files_rejects_unknown_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        data_files(tmp_path, "validation")  # type: ignore[arg-type]


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    path = write(tmp_path / "blob", bytes(range(256)) * 5000)
    assert sha256_file(path) == hashlib.sha256(path.read_bytes()).hexdigest()


# --- where the data lives ----------------------------------------------------------------------


@pytest.fixture
def three_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """An explicit folder, a $DIGITS_DATA folder and a cache folder, each holding a train split."""
    folders = {
        "explicit": tmp_path / "explicit",
        "env": tmp_path / "env",
        "cache": tmp_path / "xdg" / "digits" / "mnist",
    }
    for folder in folders.values():
        folder.mkdir(parents=True)
        write_split(folder, "train", *sample_arrays(2))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("DIGITS_DATA", str(folders["env"]))
    return folders


def test_resolve_data_dir_prefers_explicit_folder(three_sources: dict[str, Path]) -> None:
    assert resolve_data_dir(three_sources["explicit"]) == three_sources["explicit"]
    assert resolve_data_dir(str(three_sources["explicit"])) == three_sources["explicit"]


def test_resolve_data_dir_uses_env_var_without_explicit_folder(
    three_sources: dict[str, Path],
) -> None:
    assert resolve_data_dir(None) == three_sources["env"]


def test_resolve_data_dir_falls_back_to_cache(
    three_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGITS_DATA")
    assert resolve_data_dir(None) == three_sources["cache"]


def test_resolve_data_dir_treats_empty_env_var_as_unset(
    three_sources: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGITS_DATA", "")
    assert resolve_data_dir(None) == three_sources["cache"]


def test_resolve_data_dir_rejects_missing_explicit_folder(
    three_sources: dict[str, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataNotFoundError, match="is not a directory") as info:
        resolve_data_dir(missing)
    assert str(missing) in str(info.value)
    assert "`digits download`" in str(info.value)


def test_resolve_data_dir_does_not_fall_back_past_a_chosen_empty_folder(
    three_sources: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("DIGITS_DATA", str(empty))
    with pytest.raises(DataNotFoundError, match=r"no MNIST files in .*empty \(\$DIGITS_DATA\)"):
        resolve_data_dir(None)


def test_resolve_data_dir_without_any_data_says_run_digits_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIGITS_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    with pytest.raises(DataNotFoundError) as info:
        resolve_data_dir(None)
    message = str(info.value)
    assert "Run `digits download`" in message
    assert str(tmp_path / "xdg" / "digits" / "mnist") in message
    assert "--data DIR" in message


def test_default_cache_dir_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "digits" / "mnist"


@pytest.mark.parametrize("xdg", [None, "", "relative/path"], ids=["unset", "empty", "relative"])
def test_default_cache_dir_falls_back_to_home_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)  # the XDG spec says to ignore relative paths
    assert default_cache_dir() == tmp_path / ".cache" / "digits" / "mnist"


# --- the committed sample ----------------------------------------------------------------------


def test_committed_sample_is_real_mnist() -> None:
    train_images, train_labels = load_mnist(SAMPLE_DIR, "train")
    test_images, test_labels = load_mnist(SAMPLE_DIR, "test")
    assert train_images.shape == (2000, 28, 28)
    assert train_labels.shape == (2000,)
    assert test_images.shape == (1000, 28, 28)
    assert test_labels.shape == (1000,)
    for array in (train_images, train_labels, test_images, test_labels):
        assert array.dtype == np.uint8
    assert set(np.unique(train_labels)) == set(range(10))
    assert set(np.unique(test_labels)) == set(range(10))
    # The well-known first digits of each MNIST split.
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train_images.max() == 255  # ink is high, background 0
    assert np.median(train_images) == 0
