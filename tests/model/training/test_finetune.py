"""Fine-tuning on stored examples: the held-out split, the mix, the file it writes, refusals.

A tiny network trained on the committed MNIST sample stands in for the served one, with a tiny
verdict classifier beside it; the stored examples are sample test digits drawn mirrored (a
hand the network never saw), kept in a few profiles.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import model.training.finetune as finetune_module
from model.data.mnist import load_mnist
from model.files import (
    METADATA_KEY,
    read_npz,
    read_weight_file,
    save_group,
    save_weights,
    split_groups,
)
from model.nn.mlp import MLP
from model.serving.predictor import Predictor
from model.serving.verdict import FEATURES, GROUP, Thresholds, VerdictModel
from model.training.checkpoint import new_state
from model.training.config import TrainConfig
from model.training.dataset import load_dataset
from model.training.finetune import RECORD, REFUSED, FinetuneConfig, recipe, run
from model.training.finetune_data import StoredSet, example_rows, held_out
from model.training.train import fit
from tests.conftest import SAMPLE_DIR

# Eight profiles; with holdout 0.2 the hash holds out p0 and p7 (checked below).
PROFILES = tuple(f"p{i}" for i in range(8))
PER_PROFILE = 8


def tiny_weights(folder: Path) -> Path:
    """A 784-32-10 network trained on the sample by the training loop (a second), saved as
    training saves it but without the final report, with a verdict group beside it."""
    config = TrainConfig(
        data=str(SAMPLE_DIR),
        out=str(folder / "base.npz"),
        hidden=(32,),
        dropout=(0.0, 0.1),
        epochs=3,
        val_size=300,
        seed=3,
    )
    state = new_state(config)
    data = load_dataset(config, quiet)
    fit(config, state, data, quiet)
    metadata = {
        "normalization": {"mean": data.mean, "std": data.std},
        "config": config.to_dict(),
        "history": state.history,
        "metrics": {"val_accuracy": state.best_val_accuracy},
    }
    save_weights(Path(config.out), state.network, metadata)
    verdict = MLP([784 + len(FEATURES), 4, 3], rng=np.random.default_rng(0))
    description = VerdictModel(verdict, FEATURES, Thresholds(0.5, 0.5)).metadata()
    save_group(Path(config.out), GROUP, verdict.parameters(), description)
    return Path(config.out)


def mirrored_examples(
    profiles: tuple[str, ...] = PROFILES, per_profile: int = PER_PROFILE
) -> StoredSet:
    """Sample test digits flipped left to right, with their true labels, `per_profile` each."""
    images, labels = load_mnist(SAMPLE_DIR, "test")
    count = len(profiles) * per_profile
    picked = slice(len(labels) - count, len(labels))  # the last test digits
    return StoredSet.of(
        list(images[picked][:, :, ::-1]),
        [int(label) for label in labels[picked]],
        [profile for profile in profiles for _ in range(per_profile)],
        "/srv/digits/examples.sqlite3",
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("base"))


def config_for(base: Path, out: Path, **overrides: Any) -> FinetuneConfig:
    values: dict[str, Any] = {
        "out": str(out),
        "weights": str(base),
        "data": str(SAMPLE_DIR),
        "epochs": 2,
        "lr": 0.01,
    }
    values.update(overrides)
    return FinetuneConfig(**values)


def quiet(_: str) -> None:
    pass


# ------------------------------------------------------------------------------ pieces
def test_the_held_out_split_keeps_each_profile_whole_and_in_place() -> None:
    groups = [p for p in PROFILES for _ in range(3)]
    held = held_out(groups, 0.2)
    assert sorted({g for g, h in zip(groups, held, strict=True) if h}) == ["p0", "p7"]
    for profile in PROFILES:  # all of a profile's examples on one side
        assert len({bool(h) for g, h in zip(groups, held, strict=True) if g == profile}) == 1
    # The same key stays on its side whatever else is stored.
    assert held_out(["p7", "someone else"], 0.2)[0]
    assert not held_out(groups, 0.0).any()
    many = held_out([f"example {i}" for i in range(10_000)], 0.2)
    assert 0.18 < many.mean() < 0.22


def test_example_rows_repeat_every_example_as_evenly_as_possible() -> None:
    rows = example_rows(7, 30, np.random.default_rng(0))
    counts = np.bincount(rows, minlength=7)
    assert counts.sum() == 30
    assert counts.max() - counts.min() <= 1
    fewer = example_rows(7, 3, np.random.default_rng(0))
    assert len(set(fewer.tolist())) == 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mix", 1.0, "mix"),
        ("mix", 0.0, "mix"),
        ("holdout", 1.0, "holdout"),
        ("epochs", 0, "epochs"),
    ],
)
def test_config_refuses_bad_values(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FinetuneConfig(out="x.npz", **{field: value})  # type: ignore[arg-type]


def test_the_recipe_is_the_base_runs_with_this_runs_schedule() -> None:
    trained = {"layer_sizes": [784, 16, 10], "activation": "relu", "dropout": [0.0, 0.1]}
    config = FinetuneConfig(out="x.npz", epochs=4, lr=0.002)
    augmented = TrainConfig(hidden=(16,), dropout=(0.0, 0.1), augment=True, seed=9, l2=3e-5)
    made = recipe({**trained, "config": augmented.to_dict()}, config)
    assert (made.augment, made.seed, made.l2) == (True, 9, 3e-5)  # the base run's
    assert (made.epochs, made.lr, made.schedule) == (4, 0.002, "cosine")  # this run's
    bare = recipe(trained, config)  # a file that records no config: defaults, its own shape
    assert (bare.hidden, bare.dropout, bare.augment) == ((16,), (0.0, 0.1), False)


# ------------------------------------------------------------------------------ the run
def test_finetune_learns_the_examples_and_writes_a_file_that_serves(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned.npz"
    examples = mirrored_examples()
    assert run(config_for(base, out, force=True), examples) == 0
    printed = capsys.readouterr().out
    assert "held-out examples (16)" in printed  # two profiles of eight
    assert "trained-on examples (48)" in printed

    predictor = Predictor.from_file(out)  # loads, checksum and all, with its verdict
    assert predictor.verdict is not None
    written, original = read_weight_file(out).metadata, read_weight_file(base).metadata
    record = written[RECORD][-1]
    assert record["database"] == "/srv/digits/examples.sqlite3"
    assert record["examples"] == {
        "total": 64,
        "trained_on": 48,
        "held_out": 16,
        "trained_on_groups": 6,
        "held_out_groups": 2,
    }
    assert record["config"]["epochs"] == 2
    assert record["config"]["lr"] == 0.01
    assert len(record["history"]) == 2
    assert record["base"]["file"] == "base.npz"
    before, after = record["before"], record["after"]
    assert after["trained_on"] > before["trained_on"]  # it learnt the mirrored hand
    assert after["held_out"] > before["held_out"]  # and it carries over to other people
    assert written["metrics"]["test_accuracy"] == after["mnist_test"]
    assert written["metrics"]["test_accuracy"] == pytest.approx(
        float(
            (
                predictor.network.predict(predictor.normalize(_test_pixels())) == _test_labels()
            ).mean()
        )
    )
    # The original's description is kept; the verdict group byte for byte.
    assert written["config"] == original["config"]
    assert written["history"] == original["history"]
    assert written[GROUP] == original[GROUP]
    _, tuned_groups = split_groups(read_npz(out))
    _, base_groups = split_groups(read_npz(base))
    assert tuned_groups.keys() == base_groups.keys() == {GROUP}
    for name, array in base_groups[GROUP].items():
        assert tuned_groups[GROUP][name].dtype == array.dtype
        assert tuned_groups[GROUP][name].tobytes() == array.tobytes()
    assert "robustness" not in written  # the base's figures describe other weights


def _test_pixels() -> np.ndarray:
    images, _ = load_mnist(SAMPLE_DIR, "test")
    return images.reshape(len(images), -1)


def _test_labels() -> np.ndarray:
    return load_mnist(SAMPLE_DIR, "test")[1]


def test_a_second_run_appends_its_record(base: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    examples = mirrored_examples()
    assert run(config_for(base, first, epochs=1, force=True), examples, quiet) == 0
    assert run(config_for(first, second, epochs=1, force=True), examples, quiet) == 0
    records = read_weight_file(second).metadata[RECORD]
    assert [r["base"]["file"] for r in records] == ["base.npz", "a.npz"]


def test_a_drop_in_mnist_accuracy_refuses_to_write(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(finetune_module, "MAX_TEST_DROP", -1.0)  # any result counts as a drop
    out = tmp_path / "tuned.npz"
    assert run(config_for(base, out, epochs=1), mirrored_examples(), quiet) == REFUSED
    err = capsys.readouterr().err
    assert "REFUSED" in err
    assert "--force" in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    # --force writes it, and says so.
    assert run(config_for(base, out, epochs=1, force=True), mirrored_examples(), quiet) == 0
    assert "WARNING" in capsys.readouterr().err
    assert read_weight_file(out).metadata[RECORD][-1]["forced"] is True


def test_a_failed_write_leaves_neither_a_partial_file_nor_the_old_one_damaged(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "tuned.npz"
    out.write_bytes(b"the old file")

    def disk_full(handle: Any, **arrays: Any) -> None:
        handle.write(b"PK\x03\x04 half an archive")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)  # as model.files writes the archive
    assert run(config_for(base, out, epochs=1, force=True), mirrored_examples(), quiet) == 1
    assert "cannot write" in capsys.readouterr().err
    assert out.read_bytes() == b"the old file"
    assert [p.name for p in tmp_path.iterdir()] == ["tuned.npz"]  # no temporary file left


def test_examples_all_held_out_is_a_clear_error(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = mirrored_examples(profiles=("p0", "p7"))
    assert run(config_for(base, tmp_path / "t.npz"), examples, quiet) == 1
    err = capsys.readouterr().err
    assert err.startswith("digits finetune: all 16 examples (2 profiles) fall in the held-out part")
    assert err.count("\n") == 1


def test_few_held_out_examples_are_called_too_few(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = mirrored_examples(profiles=("p0", "p1"), per_profile=5)
    assert run(config_for(base, tmp_path / "t.npz", epochs=1, force=True), examples) == 0
    assert "only 5 held-out examples: too few for a reliable score" in capsys.readouterr().out


def test_missing_weights_and_data_are_one_line_errors(
    base: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    examples = mirrored_examples()
    assert run(config_for(tmp_path / "none.npz", tmp_path / "t.npz"), examples, quiet) == 1
    assert capsys.readouterr().err.startswith("digits finetune: weight file not found")
    assert run(config_for(base, tmp_path / "t.npz", data=str(tmp_path)), examples, quiet) == 1
    assert "digits download" in capsys.readouterr().err


def test_the_stored_arrays_of_the_base_are_untouched(base: Path, tmp_path: Path) -> None:
    before = read_npz(base)
    assert (
        run(config_for(base, tmp_path / "t.npz", epochs=1, force=True), mirrored_examples(), quiet)
        == 0
    )
    after = read_npz(base)
    assert before.keys() == after.keys()
    assert all(before[k].tobytes() == after[k].tobytes() for k in before if k != METADATA_KEY)
