"""benchmarks/eval_profiles.py: the summary over seeds, and its command line."""

from __future__ import annotations

import subprocess
import sys

from benchmarks.eval_profiles import ProtocolResult, over_seeds
from tests.conftest import ROOT


def result(mean: float, worst: float, worse: int, half: int, net: int) -> ProtocolResult:
    return ProtocolResult(
        protocol="3 per digit",
        writers=13,
        drawings_read=1189,
        examples_given=386,
        mean_without=0.98,
        mean_with=mean,
        worst_without=0.9,
        worst_with=worst,
        writers_worse=worse,
        writers_worse_by_half_a_point=half,
        net_on_digits_without_examples=net,
        per_writer=[{"writer": "w"}],
    )


def test_over_seeds_averages_means_keeps_the_lowest_worst_and_sums_counts() -> None:
    runs = [[result(0.99, 0.95, 2, 1, 0)], [result(0.98, 0.91, 1, 0, -1)]]
    (summary,) = over_seeds(runs)
    assert summary.mean_with == 0.985
    assert summary.worst_with == 0.91
    assert (summary.writers_worse, summary.writers_worse_by_half_a_point) == (3, 1)
    assert summary.net_on_digits_without_examples == -1
    assert summary.writers == 26  # a profile per writer per seed
    assert summary.per_writer == []


def test_seeds_that_are_not_integers_are_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.eval_profiles", "--seeds", "0,x"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--seeds must be integers" in done.stderr
    assert "Traceback" not in done.stderr
