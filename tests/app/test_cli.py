"""The `digits` command: help, predict, evaluate, and one-line errors instead of tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from model.data.mnist import load_mnist
from tests.conftest import ROOT, SAMPLE_DIR


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("serve", "train", "evaluate", "predict", "download"):
        assert command in out


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_serve_refuses_a_missing_weight_file_in_one_line(tmp_path: Path) -> None:
    result = run_cli("serve", "--weights", str(tmp_path / "missing.npz"), "--port", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "not found" in result.stderr


def test_serve_refuses_a_corrupt_weight_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 definitely not a weight file")
    result = run_cli("serve", "--weights", str(bad), "--port", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad.npz" in result.stderr


@pytest.mark.parametrize(("flags", "access_log"), [([], False), (["--access-log"], True)])
def test_serve_logs_each_request_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, flags: list[str], access_log: bool
) -> None:
    import uvicorn

    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    assert main(["serve", "--port", "0", *flags]) == 0
    assert runs[0]["access_log"] is access_log
    assert runs[0]["log_level"] == "info"  # start-up and errors are still logged


def test_predict_reads_image_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    images, labels = load_mnist(SAMPLE_DIR, "test")
    paths = []
    for i in range(3):
        path = tmp_path / f"d{i}.png"
        Image.fromarray(255 - images[i]).resize((140, 140)).save(path)  # dark on white
        paths.append(str(path))
    assert main(["predict", "--json", *paths]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["digit"] for line in lines] == labels[:3].tolist()


def test_predict_reports_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    assert main(["predict", str(bad), str(tmp_path / "missing.png")]) == 1
    err = capsys.readouterr().err
    assert "x.png" in err
    assert "missing.png" in err


def test_evaluate_json_on_the_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", str(SAMPLE_DIR), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.98  # the shipped weights on 1,000 held-out test digits
    assert len(report["per_class"]) == 10
    assert np.array(report["confusion"]).sum() == 1000


def test_train_then_evaluate_what_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "OUT.npz"
    assert (
        main(
            [
                "train",
                "--data",
                str(SAMPLE_DIR),
                "--epochs",
                "1",
                "--limit",
                "500",
                "--val-size",
                "200",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["evaluate", "--weights", str(out), "--data", str(SAMPLE_DIR)]) == 0
    assert "accuracy" in capsys.readouterr().out


def test_evaluate_without_data_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "--data", str(tmp_path)]) == 2
    assert "digits download" in capsys.readouterr().err
