"""The `digits` command: one parser, a subparser per command, and what each command does.

`build_parser` is the whole command line; each `run_*` function is one command's body. The
train flags come from `model.training.config` (shared with `python -m model.train`); the
other commands' flags are defined here, each with its help text.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import socket
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from model.data import download
from model.data.mnist import (
    DataError,
    DataNotFoundError,
    default_cache_dir,
    load_mnist,
    resolve_data_dir,
)
from model.evaluation.metrics import evaluate, format_report
from model.evaluation.robustness import robustness_report
from model.files import WeightFileError, load_weights, remove_empty_folders
from model.serving.predictor import Predictor
from model.serving.preprocess import (
    ImageLimits,
    ImageTooLargeError,
    PreprocessError,
    image_to_mnist,
)
from model.serving.segment import read_number_image
from model.serving.verdict import DIGIT
from model.training import finetune, train
from model.training.config import add_config_flags, config_from_args
from model.training.finetune_data import FinetuneError, StoredSet, check_out

if TYPE_CHECKING:
    from app.settings import Settings

DESCRIPTION = (
    "Draw a digit in the browser; a neural network written from scratch in NumPy reads it."
)


class UsageError(Exception):
    """A flag value found wrong after parsing; reported like argparse's own errors (exit 2)."""


def _version() -> str:
    try:
        return version("digits")
    except PackageNotFoundError:
        return "unknown"


# ------------------------------------------------------------------------------ commands
def run_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be in 0..65535")
    # Before anything is printed or loaded: uvicorn would say so only after "serving on ...".
    problem = _listen_problem(args.host, args.port)
    if problem:
        print(f"digits serve: {problem}", file=sys.stderr)
        return 1
    # Port 0 asks for any free port: pick it here, so the line below names the real one.
    port = args.port or _free_port(args.host)
    import uvicorn  # the web server, only for this command

    from app.server import NoDelayH11Protocol
    from app.settings import Settings

    if args.weights is not None:
        os.environ["DIGITS_WEIGHTS"] = str(args.weights.resolve())
    try:
        settings = Settings.from_env()
        # Fail here, in one line, rather than as a traceback inside a uvicorn worker.
        predictor = Predictor.from_file(settings.weights)
    except (WeightFileError, ValueError) as error:
        print(f"digits serve: {error}", file=sys.stderr)
        return 2
    if not predictor.verdict_fits_network:
        print(
            f"digits serve: the verdict classifier in {settings.weights.name} was fitted on "
            "another digit network (retrained or fine-tuned since); it still answers, less "
            f"well: python -m model.training.verdict --weights {settings.weights}",
            file=sys.stderr,
        )
    print(f"digits: serving {settings.weights.name} on http://{args.host}:{port}/")
    ok, store_line = _store_status(settings)
    # One line either way; a broken store does not stop the server: prediction needs no database.
    print(store_line, file=sys.stdout if ok else sys.stderr)
    uvicorn.run(
        "app.main:create_app_from_env",
        factory=True,
        host=args.host,
        port=port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        server_header=False,
        http=NoDelayH11Protocol,
    )
    return 0


def _listen_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on host:port, in a few words; None if it can.

    Binds a socket the way uvicorn will (its address family for `host`, SO_REUSEADDR) and lets
    it go at once: a port in use is found here, before anything is printed.
    """
    try:
        _bind(host, port)
    except socket.gaierror as error:
        return f"cannot listen on {host}: {error.strerror}"
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            return f"cannot listen on {host} port {port}: {error.strerror}"
        free = next((p for p in range(port + 1, min(port + 100, 65536)) if _can_bind(host, p)), 0)
        hint = f" (try --port {free})" if free else ""
        return f"port {port} on {host} is already in use{hint}"
    return None


def _bind(host: str, port: int) -> None:
    """Bind host:port as uvicorn does (uvicorn.config.Config.bind_socket), then let it go."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _free_port(host: str) -> int:
    """A port on `host` free right now, as the system hands one out for port 0."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def _family(host: str) -> socket.AddressFamily:
    """The address family uvicorn binds `host` with: IPv6 for an address with colons."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _can_bind(host: str, port: int) -> bool:
    try:
        _bind(host, port)
    except OSError:
        return False
    return True


def _store_status(settings: Settings) -> tuple[bool, str]:
    """Whether the example store works, and a line saying where it is or what is wrong."""
    from app.store import StoreUnavailableError, describe_database, open_store

    where = describe_database(settings.database)
    store = open_store(settings.database, settings.store_limits)
    try:
        store.check()
    except StoreUnavailableError as error:
        return False, (
            f"digits serve: the example store at {where} is unavailable: {error}; "
            "prediction works, /api/profiles and /api/examples answer 503"
        )
    finally:
        store.close()
    return True, f"digits: examples are stored in {where}"


def run_train(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValueError as error:  # an invalid value, or a flag --resume cannot change
        raise UsageError(str(error)) from None
    # train.run checks first that --out, --checkpoint and --plot can be written (exit 2 if not).
    return train.run(config)


def run_finetune(args: argparse.Namespace) -> int:
    """`digits finetune`: read every stored example, then model.training.finetune does the rest."""
    from app.settings import Settings

    try:
        settings = Settings.from_env()
        # The weight file and the database `digits serve` would use, unless named here.
        args.weights = args.weights or str(settings.weights)
        config = finetune.config_from_args(args)
    except ValueError as error:  # a bad DIGITS_* variable, or a flag value out of range
        raise UsageError(str(error)) from None
    try:
        created = check_out(Path(config.out))  # found now, not after the whole run
    except FinetuneError as error:
        print(f"digits finetune: {error}", file=sys.stderr)
        return 2
    if created:
        print(f"digits finetune: created the folder {created[-1]} for --out", file=sys.stderr)
    code = _finetune(args, config, settings)
    if code != 0:  # nothing written: no empty folder of ours is left behind
        remove_empty_folders(created)
    return code


def _finetune(args: argparse.Namespace, config: finetune.FinetuneConfig, settings: Settings) -> int:
    """Read the example store, then fine-tune on it: `digits finetune` once --out is checked."""
    from app.store import StoreUnavailableError, describe_database

    database = args.database or settings.database
    where = describe_database(database)
    try:
        examples = _stored_examples(database, settings)
    except StoreUnavailableError as error:
        print(
            f"digits finetune: the example store at {where} is unavailable: {error}",
            file=sys.stderr,
        )
        return 1
    if not len(examples.labels):
        print(
            f"digits finetune: the example store at {where} holds no examples: nothing to "
            "fine-tune on",
            file=sys.stderr,
        )
        return 1
    return finetune.run(config, examples)


def _stored_examples(database: str, settings: Settings) -> StoredSet:
    """Every example in the store as arrays; StoreUnavailableError if it cannot be read (a
    SQLite file that does not exist is not created: there is nothing in it)."""
    from app.store import (
        StoreUnavailableError,
        check_database,
        describe_database,
        open_store,
        sqlite_file,
    )

    try:
        check_database(database)
    except ValueError as error:
        raise StoreUnavailableError(str(error)) from None
    path = sqlite_file(database)
    if path is not None and Path(path).expanduser().is_dir():
        raise StoreUnavailableError("that is a folder, not a database file")
    if path is not None and not Path(path).expanduser().is_file():
        raise StoreUnavailableError("there is no database file there")
    store = open_store(database, settings.store_limits)
    try:
        rows = list(store.all_examples())
    finally:
        store.close()
    return StoredSet.of(
        [row.pixels for row in rows],
        [row.label for row in rows],
        # Examples without a profile are each their own group of the held-out split.
        [row.profile or f"example {row.id}" for row in rows],
        describe_database(database),
    )


def _weights(args: argparse.Namespace) -> Path:
    """--weights, else the file `digits serve` would serve: $DIGITS_WEIGHTS, else the shipped
    weights (app/settings.py reads the variable); UsageError for a bad DIGITS_* variable."""
    if args.weights is not None:
        return Path(args.weights)
    from app.settings import Settings

    try:
        return Settings.from_env().weights
    except ValueError as error:
        raise UsageError(str(error)) from None


def run_evaluate(args: argparse.Namespace) -> int:
    weights = _weights(args)
    try:
        network, metadata = load_weights(weights)
        images, labels = load_mnist(resolve_data_dir(args.data), args.split)
        norm = metadata["normalization"]
        report = evaluate(network, images, labels, norm["mean"], norm["std"])
        if args.robustness:
            report["robustness"] = robustness_report(
                network, images, labels, norm["mean"], norm["std"]
            )
    except (WeightFileError, DataError, DataNotFoundError) as error:
        print(f"digits evaluate: {error}", file=sys.stderr)
        return 2
    if args.json:
        report.pop("mistakes")
        print(json.dumps({"weights": str(weights), "split": args.split, **report}))
    else:
        print(f"weights   {weights}\nsplit     {args.split}")
        print(format_report(report))
        if "robustness" in report:
            print("\nrobustness (accuracy, each variant through the serving recipe)")
            for name, value in report["robustness"].items():
                print(f"  {name:<28} {value * 100:6.2f}%")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    try:
        predictor = Predictor.from_file(_weights(args))
    except WeightFileError as error:
        print(f"digits predict: {error}", file=sys.stderr)
        return 2
    if args.number:
        return _predict_numbers(predictor, args.images, args.json)
    failures = 0
    for path in args.images:
        try:
            image = image_to_mnist(read_image_file(path), FILE_LIMITS)
            result = predictor.predict([image])[0]
        except (OSError, PreprocessError) as error:
            failures += 1
            message = error.strerror if isinstance(error, OSError) else str(error)
            print(f"digits predict: {path}: {message}", file=sys.stderr)
            continue
        if args.json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "digit": result.digit,
                        "confidence": result.confidence,
                        "probabilities": result.probabilities,
                        "verdict": result.verdict,
                    }
                )
            )
        else:
            # The verdict only when it is news: "digit" is what a reading already says.
            note = "" if result.verdict == DIGIT else f"  {result.verdict}"
            print(f"{path}: {result.digit}  ({result.confidence * 100:.1f}%){note}")
    return 1 if failures else 0


# `digits predict` reads local files, a phone's full-size photos among them (often 2-5 MB and up
# to 48 megapixels): larger bounds than the server's, whose defaults guard against strangers.
FILE_LIMITS = ImageLimits(max_bytes=32 * 1024 * 1024, max_side=8192, max_pixels=48_000_000)


def read_image_file(path: Path, limit: int = FILE_LIMITS.max_bytes) -> bytes:
    """A file's bytes, at most `limit` of them: ImageTooLargeError beyond, before reading the
    rest (`/dev/zero` or a 3 GB file must not fill memory first); OSError as `open` raises."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        size = path.stat().st_size if path.is_file() else 0
        if size > limit:
            raise ImageTooLargeError(f"image is {size} bytes; the limit is {limit}")
        raise ImageTooLargeError(f"image is over the limit of {limit} bytes")
    return data


def _predict_numbers(predictor: Predictor, paths: Sequence[Path], as_json: bool) -> int:
    """`digits predict --number`: the whole number in each file, and its pieces."""
    from app.routes.number import to_number_response  # the API's answer, shape and all

    failures = 0
    for path in paths:
        try:
            reading = read_number_image(predictor, read_image_file(path), FILE_LIMITS)
        except (OSError, PreprocessError) as error:
            failures += 1
            message = error.strerror if isinstance(error, OSError) else str(error)
            print(f"digits predict: {path}: {message}", file=sys.stderr)
            continue
        if as_json:
            answer = to_number_response(reading).model_dump(mode="json", exclude_none=True)
            print(json.dumps({"file": str(path), **answer}))
            continue
        print(f"{path}: {reading.number or '-'}  ({reading.verdict}, {reading.confidence:.1%})")
        for piece, verdict in zip(reading.pieces, reading.verdicts, strict=True):
            note = "" if verdict == "digit" else f"  {verdict}"
            print(
                f"  {piece.prediction.digit}  {piece.prediction.confidence:6.1%}  "
                f"box {list(piece.box)}{note}"
            )
    return 1 if failures else 0


def run_download(args: argparse.Namespace) -> int:
    if not args.timeout > 0:  # also NaN; httpx would take 0 or less as "fail at once"
        raise UsageError("--timeout must be a positive number of seconds")
    try:
        # Module globals read at call time, so tests can point these at a local server.
        dest = download.download_mnist(
            args.dir, mirrors=download.MIRRORS, checksums=download.CHECKSUMS, timeout=args.timeout
        )
    except (download.DownloadError, OSError) as error:  # OSError: e.g. cannot create the folder
        print(f"digits download: error: {error}", file=sys.stderr)
        return 1
    print(f"MNIST is ready in {dest}")
    return 0


# ------------------------------------------------------------------------------ the parser
def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The whole `digits` command line, and each command's subparser by name.

    Parsing a command's flags also sets `run`, the function that carries the command out.
    """
    parser = argparse.ArgumentParser(prog="digits", description=DESCRIPTION)
    parser.add_argument(
        "-V",
        "--version",
        action="version",
        version=f"digits {_version()}",
        help="show the version and exit",
    )
    commands = parser.add_subparsers(
        title="commands",
        dest="command",
        metavar="COMMAND",
        help="what to run; `digits COMMAND --help` lists its flags",
    )

    def command(
        name: str, run: Callable[[argparse.Namespace], int], summary: str, description: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=description)
        sub.set_defaults(run=run)
        return sub

    serve = command(
        "serve", run_serve, "run the web app (drawing page + JSON API)", "Run the web app."
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s; use 0.0.0.0 to accept other machines)",
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    serve.add_argument(
        "--weights",
        type=Path,
        metavar="PATH",
        help="weight file (default: $DIGITS_WEIGHTS, else the shipped weights)",
    )
    serve.add_argument("--workers", type=int, default=1, help="processes (default: %(default)s)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (off by default: a few percent of each request's CPU)",
    )

    add_config_flags(
        command(
            "train",
            run_train,
            "train the network on MNIST and write a weight file",
            train.DESCRIPTION,
        )
    )

    tune = command(
        "finetune",
        run_finetune,
        "continue training a weight file on the stored examples, keeping MNIST",
        finetune.DESCRIPTION,
    )
    finetune.add_finetune_flags(tune)
    tune.add_argument(
        "--database",
        metavar="URL",
        help="the example store: a SQLite file or a postgresql:// URL "
        "(default: $DIGITS_DATABASE, else digits/digits.sqlite3 in the user's data folder)",
    )

    evaluate = command(
        "evaluate",
        run_evaluate,
        "score a weight file on the MNIST test set",
        "Score a trained network on MNIST: accuracy, per-class accuracy, confusions, mistakes.",
    )
    evaluate.add_argument(
        "--weights",
        type=Path,
        metavar="PATH",
        help="weight file (default: $DIGITS_WEIGHTS, else the shipped weights)",
    )
    evaluate.add_argument(
        "--data",
        metavar="DIR",
        help="MNIST folder (default: $DIGITS_DATA, else the per-user cache)",
    )
    evaluate.add_argument(
        "--split",
        choices=("test", "train"),
        default="test",
        help="which MNIST split to score (default: %(default)s)",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object instead")
    evaluate.add_argument(
        "--robustness",
        action="store_true",
        help="also score shifted, scaled, rotated, thickened, thinned and pen re-drawn digits, "
        "and 7s and 1s in European styles (crossed 7, flagged 1)",
    )

    predict = command(
        "predict",
        run_predict,
        "read the digit in image files",
        "Read the digit in each image file (any polarity). Files of up to 32 MiB and 48 "
        "megapixels (8,192 px a side) are read: a phone's full-size photos fit.",
    )
    predict.add_argument(
        "images", type=Path, nargs="+", help="PNG, JPEG, WebP, GIF, BMP or TIFF files"
    )
    predict.add_argument(
        "--weights",
        type=Path,
        metavar="PATH",
        help="weight file (default: $DIGITS_WEIGHTS, else the shipped weights)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument(
        "--number",
        action="store_true",
        help="read a whole number (every digit, left to right) in each file, as /api/number does; "
        "with --json, its answer plus the file name",
    )

    fetch = command(
        "download",
        run_download,
        "fetch MNIST into the per-user cache",
        "Fetch MNIST from public mirrors and verify it.",
    )
    fetch.add_argument(
        "--dir",
        type=Path,
        metavar="DIR",
        help=f"where to put the files (default: {default_cache_dir()})".replace("%", "%%"),
    )
    fetch.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait to connect or for the next bytes (default: %(default)s)",
    )
    return parser, dict(commands.choices)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `digits` command; returns its exit code (2 for a usage error, as argparse).

    Output piped into a command that stops reading early (`digits evaluate --json | head`)
    ends quietly, with exit code 1, as Python's documentation on SIGPIPE recommends. Ctrl-C
    ends any command with one line and exit code 130 (128 + SIGINT), as shells do; `train`
    says first what it saved.
    """
    try:
        code = _run(argv)
        sys.stdout.flush()  # here, so a closed pipe is caught below rather than at exit
    except KeyboardInterrupt:
        print("\ndigits: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


def _refuse_unknown_flags(command: argparse.ArgumentParser, argv: list[str]) -> None:
    """An unknown flag is named before a missing required argument: argparse reports the
    missing one first, so `digits predict --nope` said "required: images", hiding the typo.
    A request for help is left to the real parse, whose usage line shows what is required."""
    if any(arg in ("-h", "--help") or (len(arg) > 3 and "--help".startswith(arg)) for arg in argv):
        return
    required = [action for action in command._actions if action.required]
    for action in required:
        action.required = False
    try:
        _, unknown = command.parse_known_args(argv)
    finally:
        for action in required:
            action.required = True
    flags = [arg for arg in unknown if arg.startswith("-")]
    if flags:
        command.error(f"unrecognized arguments: {' '.join(flags)}")


def _run(argv: Sequence[str] | None) -> int:
    parser, commands = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in commands:
        # One line naming the commands, rather than argparse's usage and "invalid choice".
        print(
            f"digits: unknown command {argv[0]!r}; choose from {', '.join(commands)}",
            file=sys.stderr,
        )
        return 2
    try:
        if argv and argv[0] in commands:
            _refuse_unknown_flags(commands[argv[0]], argv[1:])
        # Known flags first, so an unknown one is reported with its own command's usage:
        # parse_args would report it with the top-level usage.
        args, unknown = parser.parse_known_args(argv)
        if unknown:
            where = commands[args.command] if args.command else parser
            where.error(f"unrecognized arguments: {' '.join(unknown)}")
        if args.command is None:
            parser.print_help()
            return 2
        from app.settings import unknown_variables

        for line in unknown_variables():  # a typo'd DIGITS_* variable would otherwise be silent
            print(f"digits {args.command}: {line}", file=sys.stderr)
        try:
            code: int = args.run(args)
        except UsageError as error:
            commands[args.command].error(str(error))  # usage and the message, exit 2
    except SystemExit as exit_:  # --help, --version and usage errors exit inside argparse
        return exit_.code if isinstance(exit_.code, int) else 0
    return code


if __name__ == "__main__":
    raise SystemExit(main())
