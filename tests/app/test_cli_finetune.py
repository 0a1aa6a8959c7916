"""`digits finetune`: reads the example store, and says in one line what stops it.

The fine-tuning itself is tested in tests/model/training/test_finetune.py; here the command
line around it: the store and weight defaults, a store filled through its own API, and the
errors (empty, missing or unreachable database, an --out that cannot be written).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.store import StoreLimits, open_store
from model.files import read_weight_file
from model.serving.predictor import Predictor
from model.training.finetune import RECORD
from tests.app.test_cli import run_cli
from tests.conftest import SAMPLE_DIR
from tests.model.training.test_finetune import mirrored_examples, tiny_weights

SHA256 = "ab" * 32  # the weights that "predicted" each stored example


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_weights(tmp_path_factory.mktemp("base"))


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DIGITS_* variable from the outside; the default store under tmp_path."""
    for variable in ("DIGITS_DATABASE", "DIGITS_WEIGHTS", "DIGITS_DATA"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path


def filled_store(path: Path) -> Path:
    """A SQLite store holding the mirrored sample digits, eight profiles of eight."""
    store = open_store(str(path), StoreLimits())
    examples = mirrored_examples()
    ids = {key: store.create_profile() for key in dict.fromkeys(examples.groups)}
    for image, label, key in zip(examples.images, examples.labels, examples.groups, strict=True):
        store.add_example(image, int(label), int(label), SHA256, profile=ids[key])
    store.close()
    return path


def empty_store(path: Path) -> Path:
    """A SQLite store with its tables and one profile, but no example."""
    store = open_store(str(path), StoreLimits())
    store.create_profile()
    store.close()
    return path


def finetune_flags(base: Path, out: Path, *more: str) -> list[str]:
    return ["finetune", "--weights", str(base), "--data", str(SAMPLE_DIR), "--out", str(out), *more]


def test_finetune_reads_the_store_and_writes_weights_that_serve(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = filled_store(isolated / "examples.sqlite3")
    out = isolated / "tuned.npz"
    flags = finetune_flags(base, out, "--database", str(database), "--epochs", "1", "--force")
    assert main(flags) == 0
    printed = capsys.readouterr().out
    assert "held-out examples" in printed
    assert "MNIST test" in printed
    Predictor.from_file(out)
    record = read_weight_file(out).metadata[RECORD][-1]
    assert record["database"] == str(database)
    assert record["examples"]["total"] == 64


def test_the_database_defaults_to_the_servers(
    base: Path, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = filled_store(isolated / "served.sqlite3")
    monkeypatch.setenv("DIGITS_DATABASE", str(database))
    out = isolated / "tuned.npz"
    assert main(finetune_flags(base, out, "--epochs", "1", "--force")) == 0
    assert read_weight_file(out).metadata[RECORD][-1]["database"] == str(database)


def test_an_empty_store_is_a_one_line_error(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = empty_store(isolated / "empty.sqlite3")
    out = isolated / "tuned.npz"
    assert main(finetune_flags(base, out, "--database", str(database))) == 1
    err = capsys.readouterr().err
    assert err == (
        f"digits finetune: the example store at {database} holds no examples: "
        "nothing to fine-tune on\n"
    )
    assert not out.exists()


def test_a_missing_store_is_not_created(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(finetune_flags(base, isolated / "t.npz")) == 1  # the default store: none yet
    err = capsys.readouterr().err
    assert "is unavailable: there is no database file there" in err
    assert not (isolated / "data-home").exists()


def test_a_folder_is_named_as_a_folder(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(finetune_flags(base, isolated / "t.npz", "--database", str(isolated))) == 1
    assert "is unavailable: that is a folder, not a database file" in capsys.readouterr().err


def test_another_database_url_is_named_as_unsupported(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = isolated / "t.npz"
    assert main(finetune_flags(base, out, "--database", "mysql://u:secret@h/d")) == 1
    err = capsys.readouterr().err
    assert "unsupported database URL scheme 'mysql://'" in err
    assert "secret" not in err
    assert not out.exists()


def test_a_sqlite_url_names_the_file(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = isolated / "none.sqlite3"
    assert main(finetune_flags(base, isolated / "t.npz", "--database", f"sqlite:///{missing}")) == 1
    assert "there is no database file there" in capsys.readouterr().err


def test_an_unreachable_postgres_is_named_without_its_password(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql://digits:hunter2@127.0.0.1:9/digits"  # port 9: nothing listens
    assert main(finetune_flags(base, isolated / "t.npz", "--database", url)) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "digits finetune: the example store at postgresql://digits:***@127.0.0.1:9"
    )
    assert "unavailable" in err
    assert "hunter2" not in err
    assert err.count("\n") == 1


def test_an_out_path_that_cannot_be_written_is_refused_before_training(
    base: Path, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = filled_store(isolated / "examples.sqlite3")
    blocker = isolated / "a-file"
    blocker.write_text("not a folder")
    for out, words in [
        (blocker / "tuned.npz", "is a file, not a folder"),
        (isolated, "is a folder; name the file to write"),
    ]:
        assert main(finetune_flags(base, out, "--database", str(database))) == 2
        err = capsys.readouterr().err
        assert err.startswith("digits finetune: ")
        assert words in err
        assert err.count("\n") == 1


def test_bad_flag_values_are_usage_errors(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["finetune", "--out", str(isolated / "t.npz"), "--mix", "1.5"]) == 2
    assert "mix is a share of each batch" in capsys.readouterr().err
    assert main(["finetune"]) == 2  # --out is required
    assert "--out" in capsys.readouterr().err


def test_an_empty_store_from_the_shell_prints_no_traceback(base: Path, tmp_path: Path) -> None:
    database = empty_store(tmp_path / "empty.sqlite3")
    result = run_cli(*finetune_flags(base, tmp_path / "t.npz", "--database", str(database)))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "holds no examples" in result.stderr
