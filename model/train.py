"""`python -m model.train [flags]`: the same as `digits train [flags]`."""

from model.training.train import main

if __name__ == "__main__":
    raise SystemExit(main())
