"""The `digits` command: serve, train, evaluate, predict, download."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from model.files import WeightFileError
from model.resources import shipped_weights
from model.serving.preprocess import PreprocessError, image_to_mnist

DESCRIPTION = """\
Draw a digit in the browser; a neural network written from scratch in NumPy reads it.

commands:
  serve      run the web app (drawing page + JSON API)
  train      train the network on MNIST and write a weight file
  evaluate   score a weight file on the MNIST test set
  predict    read the digit in image files
  download   fetch MNIST into the per-user cache

Run `digits COMMAND --help` for a command's flags."""


def _version() -> str:
    try:
        return version("digits")
    except PackageNotFoundError:
        return "unknown"


def serve(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="digits serve", description="Run the web app.")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s; use 0.0.0.0 to accept other machines)",
    )
    parser.add_argument("--port", type=int, default=8000, help="default: %(default)s")
    parser.add_argument("--weights", type=Path, default=None, help="weight file (default: shipped)")
    parser.add_argument("--workers", type=int, default=1, help="processes (default: %(default)s)")
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log one line per request (off by default: a few percent of each request's CPU)",
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be in 0..65535")
    from app.settings import Settings
    from model.serving.predictor import Predictor

    if args.weights is not None:
        os.environ["DIGITS_WEIGHTS"] = str(args.weights.resolve())
    try:
        settings = Settings.from_env()
        # Fail here, in one line, rather than as a traceback inside a uvicorn worker.
        Predictor.from_file(settings.weights)
    except (WeightFileError, ValueError) as error:
        print(f"digits serve: {error}", file=sys.stderr)
        return 2
    import uvicorn

    from app.server import NoDelayH11Protocol

    print(f"digits: serving {settings.weights.name} on http://{args.host}:{args.port}/")
    uvicorn.run(
        "app.main:create_app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="info",
        access_log=args.access_log,
        server_header=False,
        http=NoDelayH11Protocol,
    )
    return 0


def predict(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="digits predict", description="Read the digit in each image file (any polarity)."
    )
    parser.add_argument("images", type=Path, nargs="+", help="PNG, JPEG, WebP, GIF or BMP files")
    parser.add_argument("--weights", type=Path, default=None, help="weight file (default: shipped)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    from model.serving.predictor import Predictor

    try:
        predictor = Predictor.from_file(args.weights or shipped_weights())
    except WeightFileError as error:
        print(f"digits predict: {error}", file=sys.stderr)
        return 2
    failures = 0
    for path in args.images:
        try:
            result = predictor.predict([image_to_mnist(path.read_bytes())])[0]
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
                    }
                )
            )
        else:
            print(f"{path}: {result.digit}  ({result.confidence * 100:.1f}%)")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = ("serve", "train", "evaluate", "predict", "download")
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: digits [--version] COMMAND [ARGS]\n\n{DESCRIPTION}")
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"digits {_version()}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in commands:
        print(
            f"digits: unknown command {command!r}; choose from {', '.join(commands)}",
            file=sys.stderr,
        )
        return 2
    if command == "serve":
        return serve(rest)
    if command == "predict":
        return predict(rest)
    if command == "train":
        from model.training.train import main as train_main

        return train_main(rest)
    if command == "evaluate":
        from model.evaluation.metrics import main as evaluate_main

        return evaluate_main(rest)
    from model.data.download import main as download_main

    return download_main(rest)


if __name__ == "__main__":
    raise SystemExit(main())
