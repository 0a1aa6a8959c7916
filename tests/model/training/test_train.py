"""Training on the committed MNIST sample: learns, resumes bit-identically, fails safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import model.training.train as train_module
from model.files import load_weights
from model.training.config import TrainConfig
from model.training.dataset import pixel_statistics
from model.training.train import learning_rate, main, parse_args, train
from tests.conftest import SAMPLE_DIR


def small_config(tmp_path: Path, **overrides: Any) -> TrainConfig:
    values: dict[str, Any] = {
        "data": str(SAMPLE_DIR),
        "out": str(tmp_path / "out.npz"),
        "hidden": (64, 32),
        "epochs": 3,
        "val_size": 300,
        "dropout": (0.1, 0.1, 0.1),
        "seed": 5,
    }
    values.update(overrides)
    return TrainConfig(**values)


def quiet(_: str) -> None:
    pass


def test_smoke_training_reaches_sane_accuracy(tmp_path: Path) -> None:
    config = small_config(tmp_path, epochs=4, hidden=(128,), dropout=(0.0, 0.0), plot=str(tmp_path))
    metadata = train(config, log=quiet)
    assert "clean (recipe)" in metadata["robustness"]  # scored by default
    assert metadata["metrics"]["val_accuracy"] > 0.85
    assert metadata["metrics"]["test_accuracy"] > 0.85  # 1,700 training digits only
    assert len(metadata["history"]) == 4
    assert all(len(row["grad_norms"]) == 2 for row in metadata["history"])
    network, loaded = load_weights(Path(config.out))
    assert network.layer_sizes == (784, 128, 10)
    assert loaded["config"]["hidden"] == [128]
    assert {"loss.svg", "accuracy.svg", "grad_norms.svg"} <= {p.name for p in tmp_path.iterdir()}


def test_resume_is_bit_identical_to_an_uninterrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    straight = small_config(tmp_path / "a")
    train(straight, log=quiet)

    interrupted = small_config(tmp_path / "b")
    real_epoch = train_module.train_epoch

    def stop_in_second_epoch(config: TrainConfig, state: Any, *args: Any) -> Any:
        if state.epoch == 1:
            raise KeyboardInterrupt
        return real_epoch(config, state, *args)

    monkeypatch.setattr(train_module, "train_epoch", stop_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(interrupted, log=quiet)
    monkeypatch.setattr(train_module, "train_epoch", real_epoch)
    assert not Path(interrupted.out).exists()

    resumed = small_config(tmp_path / "b", resume=interrupted.checkpoint_path)
    train(resumed, log=quiet)
    a, meta_a = load_weights(Path(straight.out))
    b, meta_b = load_weights(Path(resumed.out))
    for name, value in a.parameters().items():
        np.testing.assert_array_equal(value, b.parameters()[name], err_msg=name)
    assert meta_a["arrays_sha256"] == meta_b["arrays_sha256"]
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in meta_a["history"]]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"} for row in meta_b["history"]]


def test_ctrl_c_keeps_a_checkpoint_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(*args: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "train_epoch", interrupt)
    out = tmp_path / "w.npz"
    code = main(
        [
            "--data",
            str(SAMPLE_DIR),
            "--out",
            str(out),
            "--val-size",
            "300",
            "--hidden",
            "16",
            "--dropout",
            "0",
        ]
    )
    assert code == 130
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / "w.ckpt.npz").is_file()


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_diverging_loss_stops_and_keeps_old_weights(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.npz"
    out.write_bytes(b"previous good weights")
    code = main(
        [
            "--data",
            str(SAMPLE_DIR),
            "--out",
            str(out),
            "--val-size",
            "300",
            "--hidden",
            "32",
            "--dropout",
            "0",
            "--lr",
            "1e12",
            "--warmup-epochs",
            "0",
            "--optimizer",
            "sgd",
        ]
    )
    assert code == 1
    assert "smaller --lr" in capsys.readouterr().err
    assert out.read_bytes() == b"previous good weights"


def test_missing_data_tells_what_to_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "w.npz")]) == 1
    out, err = capsys.readouterr()
    assert "digits download" in err
    assert "config" not in out  # said first, not after the 40-line listing


def test_resume_refuses_flags_that_would_change_the_run(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--resume", "x.ckpt.npz", "--lr", "0.3"])
    assert parse_args(["--resume", "x.ckpt.npz", "--out", "y.npz"]).out == "y.npz"


def test_resume_accepts_the_same_command_line_and_refuses_a_changed_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command that was interrupted, with --resume added, is the natural thing to type:
    flags equal to the checkpoint's values pass; a value that differs is refused."""
    flags = ["--data", str(SAMPLE_DIR), "--out", str(tmp_path / "w.npz"), "--epochs", "1"]
    flags += ["--limit", "500", "--val-size", "100", "--hidden", "16", "--robustness", "false"]
    assert main(flags) == 0
    resume = ["--resume", str(tmp_path / "w.ckpt.npz")]
    assert parse_args([*flags, *resume]).epochs == 1
    with pytest.raises(SystemExit):
        parse_args([*flags, *resume, "--lr", "0.3"])
    assert "--lr cannot change when resuming" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --epochs 2 differs from the checkpoint's 1
        parse_args([*flags[:-2], "--epochs", "2", *resume])


def test_an_interruption_says_what_was_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupt(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "load_dataset", interrupt)  # before the first checkpoint
    config = small_config(tmp_path, robustness=False)
    assert train_module._train_with_exit_code(config) == 130
    assert "nothing was saved" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setattr(train_module, "train_epoch", interrupt)  # in the first epoch
    assert train_module._train_with_exit_code(config) == 130
    err = capsys.readouterr().err
    assert f"continue with --resume {config.checkpoint_path}" in err
    assert Path(config.checkpoint_path).is_file()


def test_hidden_without_dropout_gets_the_default_rates_for_its_depth() -> None:
    assert parse_args(["--hidden", "16"]).dropout == (0.2, 0.2)
    assert parse_args([]).dropout == (0.2, 0.3, 0.2)
    assert parse_args(["--hidden", "64,32,16"]).dropout == (0.2, 0.3, 0.3, 0.2)
    assert parse_args(["--hidden", "16", "--dropout", "0.5"]).dropout == (0.5, 0.5)
    with pytest.raises(SystemExit):  # rates given for the wrong depth are still an error
        parse_args(["--hidden", "16", "--dropout", "0.1,0.2,0.3"])


def test_learning_rate_schedules() -> None:
    cosine = TrainConfig(lr=0.1, epochs=10, warmup_epochs=1)
    assert learning_rate(cosine, 0, 100) == pytest.approx(0.001)
    assert learning_rate(cosine, 99, 100) == pytest.approx(0.1)
    assert learning_rate(cosine, 550, 100) == pytest.approx(0.05)
    assert learning_rate(cosine, 999, 100) < 1e-4
    step = TrainConfig(lr=0.1, schedule="step", step_every=3, step_gamma=0.5, warmup_epochs=0)
    assert [learning_rate(step, e * 10, 10) for e in (0, 2, 3, 6)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.025]
    )
    assert learning_rate(TrainConfig(schedule="constant", warmup_epochs=0), 5000, 10) == 0.05


def test_config_validation_messages() -> None:
    with pytest.raises(ValueError, match="dropout rates"):
        TrainConfig(hidden=(10, 10), dropout=(0.1, 0.2))
    with pytest.raises(ValueError, match=r"^--seed must be non-negative$"):
        TrainConfig(seed=-1)
    # Not the dropout count, which an empty --hidden puts out of step.
    with pytest.raises(ValueError, match=r"^--hidden needs at least one size$"):
        TrainConfig(hidden=())
    assert TrainConfig(hidden=(8, 8, 8), dropout=(0.25,)).dropout == (0.25,) * 4
    with pytest.raises(SystemExit):
        parse_args(["--optimizer", "rmsprop"])


def test_pixel_statistics_match_the_direct_formula() -> None:
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28)).astype(np.uint8)
    mean, std = pixel_statistics(images)
    scaled = images / 255.0
    assert mean == pytest.approx(scaled.mean(), rel=1e-12)
    assert std == pytest.approx(scaled.std(), rel=1e-12)


# ------------------------------------------------------------------ outputs and robustness (#18)
def test_without_robustness_no_report_is_scored_or_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("robustness was scored")

    monkeypatch.setattr(train_module, "robustness_report", never)
    lines: list[str] = []
    metadata = train(small_config(tmp_path, epochs=1, robustness=False), log=lines.append)
    assert "robustness" not in metadata
    assert "robustness" not in load_weights(tmp_path / "out.npz")[1]
    assert metadata["config"]["robustness"] is False
    assert not [line for line in lines if line.startswith("robustness")]


def test_robustness_may_change_when_resuming() -> None:
    assert parse_args(["--resume", "x.ckpt.npz", "--robustness", "false"]).robustness is False
    assert parse_args([]).robustness is True


def unwritable_outputs(tmp_path: Path) -> dict[str, list[str]]:
    """Flags naming outputs that cannot be written, each with the words that must say why."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cases = {
        "--out": ["--out", str(blocker / "w.npz")],
        "--checkpoint": ["--out", str(tmp_path / "w.npz"), "--checkpoint", str(blocker / "c")],
        "--plot": ["--out", str(tmp_path / "w.npz"), "--plot", str(blocker / "curves")],
    }
    if Path("/proc/self").is_dir():  # refuses new files even to root
        cases["--out /proc"] = ["--out", "/proc/w.npz"]
    return cases


def test_outputs_that_cannot_be_written_are_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --data names no MNIST at all: the check must come before the data is even looked for.
    for name, flags in unwritable_outputs(tmp_path).items():
        assert main(["--data", str(tmp_path / "nowhere"), *flags]) == 2, name
        err = capsys.readouterr().err
        flag = name.split()[0]
        assert err.startswith(f"digits train: cannot write {flag} "), err
        assert err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # nothing created


def test_missing_output_folders_are_created_and_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "a" / "w.npz"
    flags = ["--out", str(out), "--plot", str(tmp_path / "curves"), "--limit", "300"]
    flags += ["--val-size", "100", "--epochs", "1", "--hidden", "16", "--dropout", "0"]
    flags += ["--robustness", "false"]
    assert main(["--data", str(SAMPLE_DIR), *flags]) == 0
    err = capsys.readouterr().err
    assert f"digits train: created the folder {tmp_path / 'runs' / 'a'} for --out\n" in err
    assert f"digits train: created the folder {tmp_path / 'curves'} for --plot\n" in err
    assert out.is_file()
    assert (tmp_path / "curves" / "loss.svg").is_file()


def test_a_failed_run_removes_the_empty_folders_it_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs" / "w.npz"
    assert main(["--data", str(tmp_path / "nowhere"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"created the folder {tmp_path / 'runs'} for --out" in err
    assert "digits download" in err
    assert not (tmp_path / "runs").exists()
