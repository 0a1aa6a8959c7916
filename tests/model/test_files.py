"""Weight files and checkpoints: exact round trips, every kind of damage refused clearly."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from model.files import (
    CHECKPOINT_FORMAT,
    METADATA_KEY,
    UnwritableError,
    WeightFileError,
    arrays_checksum,
    atomic_write_npz,
    encode_metadata,
    load_checkpoint,
    load_weights,
    make_folders,
    prepare_file,
    prepare_folder,
    read_weight_file,
    remove_empty_folders,
    round_to_storage,
    save_checkpoint,
    save_group,
    save_weights,
    update_metadata,
)
from model.nn.mlp import MLP


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    network = MLP([784, 16, 10], rng=np.random.default_rng(0))
    path = tmp_path / "w.npz"
    save_weights(path, network, {"normalization": {"mean": 0.13, "std": 0.31}})
    return path


def test_save_then_load_is_exact(saved: Path) -> None:
    original = MLP([784, 16, 10], rng=np.random.default_rng(0))
    network, metadata = load_weights(saved)
    for name, value in original.parameters().items():
        np.testing.assert_array_equal(network.parameters()[name], value)
    assert metadata["layer_sizes"] == [784, 16, 10]
    assert metadata["normalization"] == {"mean": 0.13, "std": 0.31}
    assert not list(saved.parent.glob(".*.tmp"))  # no temporary file left behind


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WeightFileError, match="not found"):
        load_weights(tmp_path / "nope.npz")


def test_truncated_file(saved: Path) -> None:
    saved.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(WeightFileError, match="not a readable"):
        load_weights(saved)


def test_bit_flip_in_weights_fails_the_checksum(saved: Path) -> None:
    arrays = dict(np.load(saved))
    arrays["dense0.W"] = arrays["dense0.W"].copy()
    arrays["dense0.W"].view(np.uint32)[5, 3] ^= 1 << 4
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="checksum"):
        load_weights(saved)


def test_raw_byte_flip_is_refused(saved: Path) -> None:
    data = bytearray(saved.read_bytes())
    data[len(data) // 3] ^= 0xFF
    saved.write_bytes(bytes(data))
    with pytest.raises(WeightFileError):
        load_weights(saved)


def test_wrong_shapes(saved: Path) -> None:
    arrays = dict(np.load(saved))
    arrays["dense1.W"] = np.zeros((16, 9), dtype=np.float32)
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="shapes"):
        load_weights(saved)


def test_pickle_payload_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, **{"dense0.W": np.array([{"boom": 1}], dtype=object)})
    with pytest.raises(WeightFileError, match="pickled"):
        load_weights(path)


def test_foreign_npz(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    with pytest.raises(WeightFileError, match="not a digits weight file"):
        load_weights(path)


def test_foreign_zip_and_plain_text(tmp_path: Path) -> None:
    zipped = tmp_path / "a.npz"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "hello")
    text = tmp_path / "b.npz"
    text.write_text("not a zip")
    for path in (zipped, text):
        with pytest.raises(WeightFileError):
            load_weights(path)


def test_future_format_version(saved: Path) -> None:
    arrays = dict(np.load(saved))
    metadata = json.loads(arrays[METADATA_KEY].tobytes())
    metadata["format_version"] = 99
    arrays[METADATA_KEY] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="version 99"):
        load_weights(saved)


def test_float16_storage_halves_the_file_and_loads_as_float32(tmp_path: Path) -> None:
    network = MLP([784, 64, 10], rng=np.random.default_rng(0))
    full, half = tmp_path / "full.npz", tmp_path / "half.npz"
    save_weights(full, network, {})
    metadata = save_weights(half, network, {}, storage_dtype="float16")
    assert metadata["storage_dtype"] == "float16"
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded, _ = load_weights(half)
    for name, value in network.parameters().items():
        assert loaded.parameters()[name].dtype == np.float32
        np.testing.assert_array_equal(loaded.parameters()[name], value.astype(np.float16))


def test_round_to_storage_makes_float16_saving_lossless(tmp_path: Path) -> None:
    network = MLP([784, 16, 10], rng=np.random.default_rng(0))
    before = network.parameters()["dense0.W"].copy()
    round_to_storage(network, "float16")
    after = network.parameters()["dense0.W"]
    assert not np.array_equal(before, after)  # rounding really happened
    np.testing.assert_allclose(after, before, rtol=1e-3, atol=1e-7)
    save_weights(tmp_path / "w.npz", network, {}, storage_dtype="float16")
    loaded, _ = load_weights(tmp_path / "w.npz")
    np.testing.assert_array_equal(loaded.parameters()["dense0.W"], after)


def test_weights_too_large_for_float16_are_refused(tmp_path: Path) -> None:
    network = MLP([784, 16, 10], rng=np.random.default_rng(0))
    network.parameters()["dense1.W"][0, 0] = 1e6
    with pytest.raises(WeightFileError, match="does not fit in float16"):
        save_weights(tmp_path / "w.npz", network, {}, storage_dtype="float16")
    assert not (tmp_path / "w.npz").exists()


def test_integer_weights_are_refused(saved: Path) -> None:
    arrays = dict(np.load(saved))
    arrays["dense0.W"] = arrays["dense0.W"].astype(np.int32)
    metadata = json.loads(arrays[METADATA_KEY].tobytes())
    metadata["arrays_sha256"] = arrays_checksum(
        {k: v for k, v in arrays.items() if k != METADATA_KEY}
    )
    arrays[METADATA_KEY] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="floating point"):
        load_weights(saved)


def test_update_metadata_keeps_the_arrays(saved: Path) -> None:
    before = saved.read_bytes()
    update_metadata(saved, {"ablation": [{"run": "x", "val_accuracy": 0.99}]})
    network, metadata = load_weights(saved)
    assert metadata["ablation"] == [{"run": "x", "val_accuracy": 0.99}]
    assert metadata["normalization"] == {"mean": 0.13, "std": 0.31}
    original = MLP([784, 16, 10], rng=np.random.default_rng(0))
    for name, value in original.parameters().items():
        np.testing.assert_array_equal(network.parameters()[name], value)
    assert saved.read_bytes() != before


def test_update_metadata_cannot_touch_the_array_description(saved: Path) -> None:
    with pytest.raises(WeightFileError, match="cannot change"):
        update_metadata(saved, {"arrays_sha256": "0" * 64})
    load_weights(saved)  # still intact


CHECKPOINT_ARRAYS = {"param/dense0.W": np.arange(6, dtype=np.float32).reshape(2, 3)}


def test_checkpoint_round_trip_carries_version_and_checksum(tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt.npz"
    save_checkpoint(path, CHECKPOINT_ARRAYS, {"epoch": 3})
    arrays, metadata = load_checkpoint(path)
    np.testing.assert_array_equal(arrays["param/dense0.W"], CHECKPOINT_ARRAYS["param/dense0.W"])
    assert metadata["epoch"] == 3
    assert metadata["format"] == CHECKPOINT_FORMAT
    assert metadata["format_version"] == 1
    assert metadata["arrays_sha256"] == arrays_checksum(CHECKPOINT_ARRAYS)


def test_checkpoint_with_changed_arrays_fails_the_checksum(tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt.npz"
    save_checkpoint(path, CHECKPOINT_ARRAYS, {"epoch": 3})
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays["param/dense0.W"] = arrays["param/dense0.W"] + 1
    atomic_write_npz(path, arrays)
    with pytest.raises(WeightFileError, match="checksum mismatch"):
        load_checkpoint(path)


def test_checkpoint_from_before_versions_still_loads(tmp_path: Path) -> None:
    """Checkpoints written before the format had a version or checksum."""
    path = tmp_path / "old.ckpt.npz"
    metadata = encode_metadata({"format": CHECKPOINT_FORMAT, "epoch": 1})
    atomic_write_npz(path, {**CHECKPOINT_ARRAYS, METADATA_KEY: metadata})
    arrays, loaded = load_checkpoint(path)
    assert loaded["epoch"] == 1
    assert set(arrays) == set(CHECKPOINT_ARRAYS)


def test_weight_file_and_checkpoint_are_not_taken_for_each_other(
    saved: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "run.ckpt.npz"
    save_checkpoint(checkpoint, CHECKPOINT_ARRAYS, {"epoch": 3})
    with pytest.raises(WeightFileError, match="not a digits training checkpoint"):
        load_checkpoint(saved)
    with pytest.raises(WeightFileError, match="not a digits weight file"):
        load_weights(checkpoint)


# ------------------------------------------------------------------ optional groups of arrays
GROUP_ARRAYS = {
    "dense0.W": np.arange(12, dtype=np.float32).reshape(4, 3) / 7,
    "dense0.b": np.array([0.5, -1.0, 2.0], dtype=np.float32),
}


def test_a_file_without_groups_loads_with_none(saved: Path) -> None:
    loaded = read_weight_file(saved)
    assert loaded.groups == {}
    assert loaded.metadata["layer_sizes"] == [784, 16, 10]


def test_save_group_round_trip_keeps_the_network_byte_for_byte(saved: Path) -> None:
    before = {name: a.tobytes() for name, a in np.load(saved).items() if name != METADATA_KEY}
    save_group(saved, "extra", GROUP_ARRAYS, {"thresholds": [0.5]})
    loaded = read_weight_file(saved)
    assert set(loaded.groups) == {"extra"}
    for name, value in GROUP_ARRAYS.items():
        np.testing.assert_array_equal(loaded.groups["extra"][name], value)
    assert loaded.metadata["extra"] == {"thresholds": [0.5]}
    assert loaded.metadata["normalization"] == {"mean": 0.13, "std": 0.31}
    with np.load(saved) as npz:
        assert {n: npz[n].tobytes() for n in before} == before
        assert {"extra/dense0.W", "extra/dense0.b"} <= set(npz.files)
    network, _ = load_weights(saved)  # the old entry point still works, network only
    assert network.layer_sizes == (784, 16, 10)


def test_the_checksum_covers_the_group(saved: Path) -> None:
    save_group(saved, "extra", GROUP_ARRAYS, {})
    arrays = dict(np.load(saved))
    arrays["extra/dense0.b"] = arrays["extra/dense0.b"] + 1
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="checksum"):
        read_weight_file(saved)


def test_a_group_array_missing_from_the_file_is_refused(saved: Path) -> None:
    save_group(saved, "extra", GROUP_ARRAYS, {})
    arrays = dict(np.load(saved))
    del arrays["extra/dense0.b"]
    np.savez(saved, **arrays)
    with pytest.raises(WeightFileError, match="shapes"):
        read_weight_file(saved)


def test_save_group_replaces_the_old_group_and_keeps_others(saved: Path) -> None:
    save_group(saved, "extra", GROUP_ARRAYS, {"version": 1})
    save_group(saved, "other", {"w": np.ones(2, np.float32)}, {})
    save_group(saved, "extra", {"only": np.zeros(3, np.float32)}, {"version": 2})
    loaded = read_weight_file(saved)
    assert set(loaded.groups["extra"]) == {"only"}
    assert set(loaded.groups["other"]) == {"w"}
    assert loaded.metadata["extra"] == {"version": 2}


def test_save_group_stores_in_the_files_precision_by_default(tmp_path: Path) -> None:
    path = tmp_path / "half.npz"
    save_weights(path, MLP([784, 8, 10]), {}, storage_dtype="float16")
    save_group(path, "extra", GROUP_ARRAYS, {})
    with np.load(path) as npz:
        assert npz["extra/dense0.W"].dtype == np.float16
    loaded = read_weight_file(path)
    assert loaded.groups["extra"]["dense0.W"].dtype == np.float32


def test_save_group_refuses_bad_names_values_and_damaged_files(saved: Path) -> None:
    for group in ("", "a/b", "shapes"):
        with pytest.raises(WeightFileError, match="cannot name"):
            save_group(saved, group, GROUP_ARRAYS, {})
    with pytest.raises(WeightFileError, match="not finite"):
        save_group(saved, "extra", {"w": np.array([np.inf], np.float32)}, {})
    saved.write_bytes(saved.read_bytes()[:100])
    with pytest.raises(WeightFileError):
        save_group(saved, "extra", GROUP_ARRAYS, {})


def test_the_shipped_file_loads_with_and_without_its_verdict_group(tmp_path: Path) -> None:
    """The shipped file carries the verdict classifier; the same file as it was before (no
    group, the same format version) still loads, network and metadata alike."""
    from tests.conftest import SHIPPED_WEIGHTS

    shipped = read_weight_file(SHIPPED_WEIGHTS)
    assert shipped.metadata["format_version"] == 1
    assert set(shipped.groups) == {"verdict"}
    with np.load(SHIPPED_WEIGHTS) as npz:
        arrays = {n: npz[n] for n in npz.files if n != METADATA_KEY and "/" not in n}
    metadata = {k: v for k, v in shipped.metadata.items() if k != "verdict"}
    metadata["shapes"] = {name: list(a.shape) for name, a in arrays.items()}
    metadata["arrays_sha256"] = arrays_checksum(arrays)
    old = tmp_path / "old.npz"
    atomic_write_npz(old, {**arrays, METADATA_KEY: encode_metadata(metadata)})
    before = read_weight_file(old)
    assert before.groups == {}
    for name, value in shipped.network.parameters().items():
        np.testing.assert_array_equal(before.network.parameters()[name], value)


# ------------------------------------------------------------------ files that are not weights
def refusal(load: Callable[[Path], object], path: Path) -> str:
    with pytest.raises(WeightFileError) as info:
        load(path)
    message = str(info.value)
    for leak in ("allow_pickle", "unsafe", "pickle.load"):  # numpy's advice is not for users
        assert leak not in message
    return message


@pytest.mark.parametrize(
    ("write", "reason"),
    [
        (
            lambda path: path.write_text("these are not weights\n"),
            "not an .npz archive: it is text",
        ),
        (lambda path: path.write_bytes(b""), "not an .npz archive: the file is empty"),
        (
            lambda path: Image.new("L", (28, 28)).save(path, format="PNG"),
            "not an .npz archive: it is a PNG image",
        ),
        (
            lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)),
            "not an .npz archive",
        ),
        (
            lambda path: np.save(path.open("wb"), np.zeros(3)),
            "not an .npz archive: it is a single NumPy array (.npy)",
        ),
        (
            lambda path: np.savez(path, **{"dense0.W": np.array([{"boom": 1}], dtype=object)}),
            "array 'dense0.W' holds pickled Python objects, which are never loaded",
        ),
        (
            lambda path: path.write_bytes(b"PK\x03\x04 then nothing a zip needs"),
            "not a readable .npz archive: File is not a zip file",
        ),
    ],
    ids=["text", "empty", "png", "random", "npy", "pickled", "broken-zip"],
)
def test_a_file_that_is_not_weights_is_named_with_a_short_reason(
    tmp_path: Path, write: Callable[[Path], object], reason: str
) -> None:
    path = tmp_path / "weights.npz"
    write(path)
    assert refusal(read_weight_file, path) == f"not a digits weight file: {path} ({reason})"
    assert refusal(load_checkpoint, path) == f"not a digits training checkpoint: {path} ({reason})"


def test_a_zip_of_other_files_and_a_folder_are_not_weights(tmp_path: Path) -> None:
    zipped = tmp_path / "notes.npz"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refusal(load_weights, zipped) == (
        f"not a digits weight file: {zipped} ('readme.txt' in it is not a NumPy array)"
    )
    assert refusal(load_weights, tmp_path) == f"not a digits weight file: {tmp_path} (a folder)"
    assert refusal(load_weights, tmp_path / "nope.npz") == (
        f"weight file not found: {tmp_path / 'nope.npz'}"
    )


def test_a_damaged_array_inside_the_archive_is_refused_without_numpys_words(
    saved: Path,
) -> None:
    with zipfile.ZipFile(saved) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["dense0.W.npy"] = b"\x93NUMPY\x01\x00" + b"\x10\x00" + b"{'descr': nonsense}\n"
    with zipfile.ZipFile(saved, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    assert refusal(load_weights, saved) == (
        f"not a digits weight file: {saved} (not a readable .npz archive: "
        "array 'dense0.W' is damaged)"
    )


def test_save_weights_carries_groups_as_stored_in_the_same_write(tmp_path: Path) -> None:
    group = {"dense0.W": np.arange(6, dtype=np.float16).reshape(2, 3)}
    path = tmp_path / "w.npz"
    metadata = save_weights(path, MLP([784, 4, 10]), {"extra": {"n": 1}}, groups={"extra": group})
    loaded = read_weight_file(path)  # the checksum covers the group
    assert loaded.groups["extra"]["dense0.W"].tolist() == group["dense0.W"].tolist()
    assert metadata["shapes"]["extra/dense0.W"] == [2, 3]
    with np.load(path) as stored:
        assert stored["extra/dense0.W"].dtype == np.float16  # as given, not the network's dtype
    for bad in ("", "a/b", "shapes"):
        with pytest.raises(WeightFileError, match="cannot name a group"):
            save_weights(tmp_path / "x.npz", MLP([784, 4, 10]), {}, groups={bad: group})


# ------------------------------------------------------------------ before writing (#18)
def test_prepare_file_creates_missing_folders_and_leaves_no_probe(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "a" / "w.npz"
    assert prepare_file(target) == [tmp_path / "runs", tmp_path / "runs" / "a"]
    assert (tmp_path / "runs" / "a").is_dir()
    assert list((tmp_path / "runs").rglob("*")) == [tmp_path / "runs" / "a"]  # no probe left
    assert prepare_file(target) == []  # nothing created the second time


def test_prepare_file_refuses_a_folder_a_device_and_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("in the way")
    with pytest.raises(UnwritableError, match="is a folder; name the file to write"):
        prepare_file(tmp_path)
    with pytest.raises(UnwritableError, match="a-file is a file, not a folder"):
        prepare_file(tmp_path / "a-file" / "deeper" / "w.npz")
    assert not (tmp_path / "a-file" / "deeper").exists()
    if Path("/dev/null").exists():
        with pytest.raises(UnwritableError, match="/dev/null is not a regular file"):
            prepare_file(Path("/dev/null"))


def test_a_folder_that_refuses_new_files_is_found_and_the_folders_made_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a read-only mount, or a folder root cannot write either: only trying tells."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(UnwritableError, match=r"does not accept new files \(Permission denied\)"):
        prepare_folder(tmp_path / "new" / "curves")
    assert not (tmp_path / "new").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_proc_is_found_unwritable_even_for_root() -> None:
    with pytest.raises(UnwritableError, match="/proc does not accept new files"):
        prepare_file(Path("/proc/x.npz"))


def test_remove_empty_folders_keeps_what_is_not_empty(tmp_path: Path) -> None:
    created = make_folders(tmp_path / "a" / "b" / "c")
    assert created == [tmp_path / "a", tmp_path / "a" / "b", tmp_path / "a" / "b" / "c"]
    (tmp_path / "a" / "keep.txt").write_text("a file")
    remove_empty_folders(created)
    assert not (tmp_path / "a" / "b").exists()
    assert (tmp_path / "a" / "keep.txt").is_file()
