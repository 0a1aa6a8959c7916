"""The `digits` command: help, version, every command, and one-line errors instead of tracebacks."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app import cli
from app.cli import build_parser, main
from app.settings import Settings
from model.data import download
from model.data.mnist import load_mnist
from model.files import read_weight_file, update_metadata
from model.training.config import TrainConfig
from tests.conftest import ROOT, SAMPLE_DIR, SHIPPED_WEIGHTS
from tests.model.data.test_download import (
    CHECKSUMS,
    assert_complete,
    mirror_server,
    unreachable_mirror,
)


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
    for command in ("serve", "train", "finetune", "evaluate", "predict", "download"):
        assert command in out


def test_no_arguments_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("usage: digits")
    assert "download" in out


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_flag_prints_the_version(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([flag]) == 0
    assert capsys.readouterr().out == f"digits {version('digits')}\n"


def test_version_flag_from_the_shell() -> None:
    result = run_cli("-V")
    assert result.returncode == 0
    assert result.stdout.strip() == f"digits {version('digits')}"


def test_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_one_parser_holds_every_command() -> None:
    _, commands = build_parser()
    assert list(commands) == ["serve", "train", "finetune", "evaluate", "predict", "download"]


def shown_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The options and positionals `--help` lists, subcommand summaries included."""
    shown = []
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        shown.append(action)
        if isinstance(action, argparse._SubParsersAction):
            shown += action._get_subactions()
    return shown


@pytest.mark.parametrize("ask", ["--help", "-h", "--hel"])
def test_help_shows_required_flags_as_required(
    ask: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check for unknown flags parses once with nothing required: help asked then showed
    `finetune [--out PATH]`, optional, which it is not."""
    assert main(["finetune", ask]) == 0
    usage = " ".join(capsys.readouterr().out.split("\n\n")[0].split())
    assert usage.startswith("usage: digits finetune [-h] --out PATH [--weights PATH]")


def test_every_option_of_every_command_has_help() -> None:
    parser, commands = build_parser()
    for name, command in {"digits": parser, **commands}.items():
        actions = shown_actions(command)
        assert len(actions) >= 2, name
        for action in actions:
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{label} has no help text"
            assert action.help.strip(), f"{label} has no help text"


def test_train_offers_one_flag_per_config_field() -> None:
    _, commands = build_parser()
    flags = {s for a in commands["train"]._actions for s in a.option_strings}
    for field in TrainConfig.__dataclass_fields__:
        assert "--" + field.replace("_", "-") in flags


def test_train_help_shows_each_default_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    options = out.split("\noptions:\n", 1)[1]
    entries = re.split(r"\n  (?=-)", options)  # one entry per option, wrapped lines included
    assert len(entries) == len(TrainConfig.__dataclass_fields__) + 1  # plus --help
    for entry in entries:
        assert " ".join(entry.split()).count("(default") <= 1, entry
    assert "(default: none)" not in out
    assert "--checkpoint PATH" in out
    assert "(default: OUT.ckpt.npz)" in " ".join(out.split())


def test_train_refuses_flags_that_would_change_a_resumed_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["train", "--resume", "x.ckpt.npz", "--lr", "0.3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digits train")
    assert "digits train: error: --lr cannot change when resuming" in err


def test_train_refuses_an_unknown_optimizer(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--optimizer", "rmsprop"]) == 2
    assert "invalid choice: 'rmsprop'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--port", "70000"], "--port must be in 0..65535"),
    ],
)
def test_serve_refuses_bad_flags_with_a_usage_error(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digits serve")
    assert f"digits serve: error: {message}" in err


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


def test_serve_on_port_0_names_the_port_it_serves_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    runs: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: runs.append(options))
    assert main(["serve", "--port", "0"]) == 0
    port = runs[0]["port"]
    assert isinstance(port, int)
    assert port > 0
    assert f"on http://127.0.0.1:{port}/" in capsys.readouterr().out


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


def test_a_typo_in_a_digits_variable_is_named_by_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGITS_WEIGHT", str(tmp_path / "mine.npz"))  # DIGITS_WEIGHTS meant
    images, _ = load_mnist(SAMPLE_DIR, "test")
    path = tmp_path / "d.png"
    Image.fromarray(255 - images[0]).save(path)
    assert main(["predict", str(path)]) == 0
    assert capsys.readouterr().err == (
        "digits predict: DIGITS_WEIGHT is not a setting (did you mean DIGITS_WEIGHTS?); "
        "it is ignored\n"
    )


def test_predict_reports_bad_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"nope")
    assert main(["predict", str(bad), str(tmp_path / "missing.png")]) == 1
    err = capsys.readouterr().err
    assert "x.png" in err
    assert "missing.png" in err


@pytest.mark.parametrize("number", [False, True])
def test_predict_reads_no_more_than_the_image_limit(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    number: bool,
) -> None:
    """A sparse 3 GB file and an endless stream are refused after reading limit + 1 bytes:
    before, `digits predict /dev/zero` read until the machine ran out of memory."""
    big = tmp_path / "big.png"
    with big.open("wb") as file:
        file.truncate(3 << 30)
    reads: list[int] = []
    real_open = Path.open

    def counting_open(path: Path, *args: object, **kwargs: object) -> object:
        handle = real_open(path, *args, **kwargs)  # type: ignore[call-overload]
        if str(path) not in (str(big), "/dev/zero"):  # the weight file, read as it always is
            return handle
        real_read = handle.read
        handle.read = lambda size=-1: reads.append(size) or real_read(size)
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    flags = ["--number"] if number else []
    assert main(["predict", *flags, str(big), "/dev/zero"]) == 1
    err = capsys.readouterr().err
    limit = 32 * 1024 * 1024
    assert f"big.png: image is {3 << 30} bytes; the limit is {limit}" in err
    assert f"/dev/zero: image is over the limit of {limit} bytes" in err
    assert reads == [limit + 1, limit + 1]


def test_ctrl_c_ends_a_command_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`digits predict FIFO` waits for a writer; Ctrl-C then printed a traceback."""

    def interrupted(*args: object, **kwargs: object) -> bytes:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "read_image_file", interrupted)
    assert main(["predict", "any.png"]) == 130
    assert capsys.readouterr().err == "\ndigits: interrupted\n"


def test_predict_reads_a_full_size_phone_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Over the server's 2 MiB: a 4,000 x 3,000 photo of a 7 with sensor noise (about 5 MB)."""
    from PIL import Image, ImageDraw

    photo = Image.new("L", (4000, 3000), 235)
    ImageDraw.Draw(photo).line([(1500, 700), (2500, 700), (1800, 2300)], fill=30, width=120)
    noisy = np.asarray(photo, np.float64) + np.random.default_rng(0).normal(0, 6, (3000, 4000))
    path = tmp_path / "photo.png"
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).convert("RGB").save(path)
    assert path.stat().st_size > 2 * 1024 * 1024
    assert main(["predict", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["digit"] == 7


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


@pytest.fixture
def local_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mirror_server(tmp_path_factory.mktemp("mirror")) as url:
        yield url


def test_download_into_dir_returns_zero(
    local_mirror: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(download, "MIRRORS", (f"{local_mirror}/good/",))
    monkeypatch.setattr(download, "CHECKSUMS", CHECKSUMS)
    assert main(["download", "--dir", str(tmp_path / "out")]) == 0
    assert_complete(tmp_path / "out")
    out = capsys.readouterr().out
    assert f"MNIST is ready in {tmp_path / 'out'}" in out
    assert "train-images-idx3-ubyte.gz: downloading" in out  # progress is printed


def no_mirror_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """`digits download` tries only a local mirror that refuses every connection."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setattr(download, "MIRRORS", (unreachable_mirror(),))
    monkeypatch.setattr(download, "CHECKSUMS", CHECKSUMS)


def test_download_reports_failure_in_one_line_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_mirror_answers(monkeypatch)
    assert main(["download", "--dir", str(tmp_path), "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("digits download: error: could not download")
    assert "--data DIR" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ first impressions (#17)
def expanded_help(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    """An option's help as `--help` prints it (%(default)s filled in), on one line."""
    return " ".join(parser._get_formatter()._expand_help(action).split())


def every_command() -> dict[str, argparse.ArgumentParser]:
    parser, commands = build_parser()
    return {"digits": parser, **commands}


def test_no_help_line_mentions_a_default_twice() -> None:
    for name, parser in every_command().items():
        for action in shown_actions(parser):
            text = expanded_help(parser, action)
            assert text.lower().count("default") <= 1, f"{name} {action.option_strings}: {text}"


def test_every_stated_default_is_the_real_one() -> None:
    train_defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    for name, parser in every_command().items():
        for action in shown_actions(parser):
            real = train_defaults.get(action.dest) if name == "train" else action.default
            if real is None or real is False or real == argparse.SUPPRESS:
                continue  # no value to show: the help says in words what happens
            if isinstance(real, tuple):
                shown = ",".join(map(str, real))
            else:
                shown = str(real).lower() if isinstance(real, bool) else str(real)
            stated = re.search(r"\(default: ([^;)]*)", expanded_help(parser, action))
            assert stated, f"{name} {action.option_strings} does not state its default {shown}"
            assert stated.group(1) == shown, f"{name} {action.option_strings}"


def test_the_weights_defaults_say_where_each_command_looks() -> None:
    """serve, evaluate and predict read $DIGITS_WEIGHTS (app/settings.py) before the shipped
    file."""
    commands = every_command()
    helps = {
        name: expanded_help(commands[name], action)
        for name in ("serve", "evaluate", "predict")
        for action in commands[name]._actions
        if "--weights" in action.option_strings
    }
    assert helps["serve"] == "weight file (default: $DIGITS_WEIGHTS, else the shipped weights)"
    assert Settings.from_env({"DIGITS_WEIGHTS": "/x/w.npz"}).weights == Path("/x/w.npz")
    assert helps["evaluate"] == helps["predict"] == helps["serve"]


def not_weight_files(folder: Path) -> dict[str, Path]:
    """Files that are not digits weight files, of every kind a user may pass by mistake."""
    text = folder / "text.npz"
    text.write_text("these are not weights\n")
    png = folder / "digit.png"
    Image.new("L", (28, 28)).save(png)
    random_bytes = folder / "random.npz"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    pickled = folder / "pickled.npz"
    np.savez(pickled, **{"dense0.W": np.array([{"boom": 1}], dtype=object)})
    single = folder / "single.npy"
    np.save(single, np.zeros(3))
    return {"text": text, "png": png, "random": random_bytes, "pickled": pickled, "npy": single}


NOT_WEIGHTS = ("text", "png", "random", "pickled", "npy")


@pytest.mark.parametrize("kind", NOT_WEIGHTS)
@pytest.mark.parametrize("command", ["serve", "predict", "evaluate"])
def test_a_file_that_is_not_weights_is_refused_in_one_line(
    command: str,
    kind: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # serve sets DIGITS_WEIGHTS from --weights: set here, so that it is restored afterwards
    monkeypatch.setenv("DIGITS_WEIGHTS", "")
    path = not_weight_files(tmp_path)[kind]
    image = tmp_path / "digit.png"
    flags = {
        "serve": ["--port", "0"],
        "predict": [str(image)],
        "evaluate": ["--data", str(SAMPLE_DIR)],
    }[command]
    assert main([command, "--weights", str(path), *flags]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"digits {command}: not a digits weight file: {path} (")
    assert err.endswith(")\n")
    assert err.count("\n") == 1
    for leak in ("allow_pickle", "unsafe", "Traceback", "pickle.load"):
        assert leak not in err


@pytest.mark.parametrize("kind", ["text", "pickled"])
def test_a_file_that_is_not_weights_is_refused_from_the_shell(kind: str, tmp_path: Path) -> None:
    path = not_weight_files(tmp_path)[kind]
    result = run_cli("predict", "--weights", str(path), str(tmp_path / "digit.png"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"digits predict: not a digits weight file: {path} (")
    assert "allow_pickle" not in result.stderr
    assert "unsafe" not in result.stderr


EVALUATE_JSON = [sys.executable, "-m", "app.cli", "evaluate", "--json", "--data", str(SAMPLE_DIR)]


def test_output_into_a_closed_pipe_ends_quietly() -> None:
    """`digits evaluate --json | head -c 300`, with the reader gone before anything is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            EVALUATE_JSON, stdout=writer, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 1  # as Python's documentation does on EPIPE


def test_output_piped_into_head_ends_quietly() -> None:
    command = " ".join(shlex.quote(part) for part in EVALUATE_JSON) + " | head -c 300"
    result = subprocess.run(
        ["sh", "-c", command], capture_output=True, cwd=ROOT, timeout=120, check=False
    )
    assert len(result.stdout) == 300
    assert result.stderr == b""


@pytest.fixture(params=[False, True], ids=["plain", "reuseaddr"])
def busy_port(request: pytest.FixtureRequest) -> Iterator[int]:
    """A port another program listens on (as a server would, with SO_REUSEADDR or without)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        if request.param:
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_serve_on_a_busy_port_says_so_in_one_line_before_anything_else(busy_port: int) -> None:
    result = run_cli("serve", "--port", str(busy_port))
    assert result.returncode != 0
    assert result.stdout == ""  # no "serving on ..." first
    assert re.fullmatch(
        rf"digits serve: port {busy_port} on 127\.0\.0\.1 is already in use "
        r"\(try --port (\d+)\)\n",
        result.stderr,
    ), result.stderr
    suggested = int(result.stderr.rsplit(" ", 1)[1].rstrip(")\n"))
    assert suggested > busy_port


def test_serve_on_an_address_it_cannot_have_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "no-such-host.invalid", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("digits serve: cannot listen on no-such-host.invalid: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("out", ["folder", "file/x.npz"])
def test_train_refuses_an_out_it_could_not_write_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], out: str
) -> None:
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("in the way")
    target = tmp_path / out
    # --data names no MNIST at all: the check must come before the data is even looked for.
    code = main(["train", "--out", str(target), "--data", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 2
    assert "--out" in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("**/*.ckpt.npz"))


def test_serve_warns_when_the_verdict_was_fitted_on_another_network(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    moved = tmp_path / "tuned.npz"
    shutil.copyfile(SHIPPED_WEIGHTS, moved)
    verdict = read_weight_file(moved).metadata["verdict"]
    view = {**verdict["digit_view"], "network_sha256": "0" * 64}  # as after a fine-tuning
    update_metadata(moved, {"verdict": {**verdict, "digit_view": view}})
    monkeypatch.setenv("DIGITS_WEIGHTS", str(moved))  # serve --weights sets it; undone after
    assert main(["serve", "--port", "0", "--weights", str(moved)]) == 0
    err = capsys.readouterr().err
    assert "the verdict classifier in tuned.npz was fitted on another digit network" in err
    assert f"python -m model.training.verdict --weights {moved}" in err
    monkeypatch.delenv("DIGITS_WEIGHTS")
    assert main(["serve", "--port", "0"]) == 0  # the shipped file: no warning
    assert "verdict" not in capsys.readouterr().err


# ------------------------------------------------------------------ a new user's defects (#18)
@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--out", "/proc/x.npz"], "cannot write --out /proc/x.npz: the folder /proc does not"),
        (["--plot", "/dev/null/x"], "cannot write --plot /dev/null/x: /dev/null is a file"),
    ],
)
def test_train_refuses_outputs_it_cannot_write_in_one_line_from_the_shell(
    flags: list[str], words: str, tmp_path: Path
) -> None:
    out = ["--out", str(tmp_path / "w.npz")] if "--out" not in flags else []
    result = run_cli("train", "--data", str(SAMPLE_DIR), "--val-size", "500", *out, *flags)
    assert result.returncode == 2
    assert result.stderr.startswith(f"digits train: {words}")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # refused before the config or the data is even printed
    assert list(tmp_path.iterdir()) == []


def test_train_names_the_folder_it_creates_for_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "w.npz"
    # No MNIST there: the run fails after the check, and takes the empty folder away again.
    assert main(["train", "--out", str(out), "--data", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"digits train: created the folder {tmp_path / 'new'} for --out\n")
    assert not (tmp_path / "new").exists()


def test_train_without_robustness_scores_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "w.npz"
    flags = ["--data", str(SAMPLE_DIR), "--out", str(out), "--limit", "300", "--val-size", "100"]
    flags += ["--epochs", "1", "--hidden", "16", "--dropout", "0", "--robustness", "false"]
    assert main(["train", *flags]) == 0
    assert "robustness on the test set" not in capsys.readouterr().out
    metadata = read_weight_file(out).metadata
    assert "robustness" not in metadata
    assert metadata["config"]["robustness"] is False


def test_train_help_offers_robustness_like_other_booleans(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--robustness BOOL" in text
    assert "--augment BOOL" in text
    assert main(["train", "--robustness", "maybe"]) == 2
    assert "expected true or false, got 'maybe'" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_finetune_refuses_an_out_it_cannot_write_before_reading_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGITS_WEIGHTS", raising=False)
    # No store there: reading it would fail with exit 1; --out is refused first, with 2.
    missing = str(tmp_path / "none.sqlite3")
    assert main(["finetune", "--out", "/proc/t.npz", "--database", missing]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digits finetune: cannot write --out /proc/t.npz: the folder /proc")
    assert err.count("\n") == 1


def test_finetune_names_the_folder_it_creates_and_removes_it_if_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DIGITS_WEIGHTS", raising=False)
    out = tmp_path / "new" / "t.npz"
    missing = str(tmp_path / "none.sqlite3")
    assert main(["finetune", "--out", str(out), "--database", missing]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"digits finetune: created the folder {tmp_path / 'new'} for --out\n")
    assert "there is no database file there" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_evaluate_and_predict_read_digits_weights_as_serve_does(
    command: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    image = tmp_path / "d.png"
    Image.fromarray(255 - load_mnist(SAMPLE_DIR, "test")[0][0]).save(image)
    flags = {"evaluate": ["--data", str(SAMPLE_DIR), "--json"], "predict": [str(image)]}[command]
    moved = tmp_path / "env.npz"
    shutil.copyfile(SHIPPED_WEIGHTS, moved)
    text = tmp_path / "text.npz"
    text.write_text("these are not weights\n")

    monkeypatch.setenv("DIGITS_WEIGHTS", str(text))
    assert main([command, *flags]) == 2  # the variable's file is the one read
    assert f"not a digits weight file: {text}" in capsys.readouterr().err
    assert main([command, "--weights", str(moved), *flags]) == 0  # --weights wins
    capsys.readouterr()
    monkeypatch.setenv("DIGITS_WEIGHTS", str(moved))
    assert main([command, *flags]) == 0
    if command == "evaluate":
        assert json.loads(capsys.readouterr().out)["weights"] == str(moved)
    monkeypatch.setenv("DIGITS_WEIGHTS", "")  # empty: unset, as serve takes it
    assert main([command, *flags]) == 0


def test_a_bad_digits_variable_is_a_usage_error_for_evaluate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGITS_MAX_BODY_BYTES", "lots")  # read as serve and finetune read it
    assert main(["evaluate", "--data", str(SAMPLE_DIR)]) == 2
    assert "DIGITS_MAX_BODY_BYTES must be an integer" in capsys.readouterr().err


def required_flags(command: str) -> list[str]:
    """What `command` requires (predict's images, finetune's --out)."""
    return {"predict": ["x.png"], "finetune": ["--out", "t.npz"]}.get(command, [])


@pytest.mark.parametrize("with_required", [True, False])
@pytest.mark.parametrize("command", list(build_parser()[1]))
def test_an_unknown_flag_prints_its_commands_usage(
    command: str, with_required: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Named even when a required argument is missing too: argparse would name only that.
    required = required_flags(command) if with_required else []
    assert main([command, *required, "--nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: digits {command} ")
    assert err.endswith(f"digits {command}: error: unrecognized arguments: --nope\n")


def test_an_unknown_top_level_flag_prints_the_top_level_usage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--nope"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digits [-h] [-V] COMMAND ...")
    assert "unrecognized arguments: --nope" in err


def test_train_seed_must_be_non_negative(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digits train")
    assert err.endswith("digits train: error: --seed must be non-negative\n")


def test_train_hidden_must_name_a_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--hidden", ""]) == 2
    err = capsys.readouterr().err
    assert err.endswith("digits train: error: --hidden needs at least one size\n")
    assert "dropout" not in err.splitlines()[-1]


@pytest.mark.parametrize("timeout", ["-1", "0", "nan"])
def test_download_refuses_a_timeout_that_is_not_positive(
    timeout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["download", "--dir", str(tmp_path / "cache"), "--timeout", timeout]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: digits download")
    assert "--timeout must be a positive number of seconds" in err
    assert not (tmp_path / "cache").exists()


def test_a_failed_download_leaves_no_empty_folder_it_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_mirror_answers(monkeypatch)
    dest = tmp_path / "new" / "cache"
    assert main(["download", "--dir", str(dest), "--timeout", "5"]) == 1
    assert "could not download" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"  # a folder the user had stays, even empty
    kept.mkdir()
    assert main(["download", "--dir", str(kept), "--timeout", "5"]) == 1
    assert kept.is_dir()


def test_predict_help_names_every_format_it_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from model.serving.preprocess import ALLOWED_FORMATS

    assert main(["predict", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split()).lower()
    assert all(name.lower() in text for name in ALLOWED_FORMATS)
    digit = tmp_path / "d.tiff"  # and TIFF is read indeed
    Image.fromarray(255 - load_mnist(SAMPLE_DIR, "test")[0][0]).resize((140, 140)).save(digit)
    assert main(["predict", "--weights", str(SHIPPED_WEIGHTS), str(digit)]) == 0
    assert capsys.readouterr().out.startswith(f"{digit}: ")
