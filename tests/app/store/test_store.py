"""The store's interface, the same tests on SQLite and on PostgreSQL (the `database` fixture)."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import app.store.base
from app.store import (
    DatabaseFullError,
    ProfileFullError,
    Store,
    StoreLimits,
    StoreUnavailableError,
    UnknownProfileError,
    describe_database,
    open_store,
)
from app.store.schema import MIGRATIONS
from tests.app.store.conftest import SHA256, query, random_pixels

MakeStore = Callable[..., Store]


def use(store: Store) -> None:
    """Open the store the way a request does (check() leaves a missing SQLite file uncreated)."""
    list(store.all_examples())


def add(store: Store, label: int = 3, profile: str | None = None, seed: int = 0) -> int:
    """Add one example; returns the count add_example reports."""
    return store.add_example(random_pixels(seed), label, 5, SHA256, profile)[1]


# ------------------------------------------------------------------------------ the schema
def test_opening_an_empty_database_applies_every_migration_once(
    make_store: MakeStore, database: str
) -> None:
    use(make_store())
    use(make_store())  # opened again: nothing to apply
    versions = query(database, "SELECT version FROM schema_version ORDER BY version")
    assert versions == [(n,) for n in range(1, len(MIGRATIONS) + 1)]
    assert query(database, "SELECT COUNT(*) FROM profiles") == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM examples") == [(0,)]


def test_stores_opening_an_empty_database_at_once_migrate_it_once(
    make_store: MakeStore, database: str
) -> None:
    stores = [make_store() for _ in range(4)]
    errors: list[BaseException] = []

    def open_it(store: Store) -> None:
        try:
            use(store)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=open_it, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert query(database, "SELECT COUNT(*) FROM schema_version") == [(len(MIGRATIONS),)]


def test_a_database_from_a_newer_digits_is_refused_with_a_clear_error(
    make_store: MakeStore, database: str
) -> None:
    use(make_store())
    query(database, "INSERT INTO schema_version (version, applied) SELECT 99, applied "
          "FROM schema_version WHERE version = 1")  # fmt: skip
    with pytest.raises(StoreUnavailableError, match=r"schema version 99, newer than .* upgrade"):
        use(make_store())


# ------------------------------------------------------------------------------ profiles
def test_a_new_profile_has_a_random_url_safe_id_and_no_examples(make_store: MakeStore) -> None:
    store = make_store()
    first, second = store.create_profile(), store.create_profile()
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", first)  # 16 random bytes, 128 bits
    assert first != second
    assert store.profile_counts(first) == [0] * 10


def test_profile_counts_are_per_digit(make_store: MakeStore) -> None:
    store = make_store()
    profile = store.create_profile()
    for label in (7, 7, 1, 0, 7):
        add(store, label, profile)
    add(store, 2)  # no profile: not counted in any
    assert store.profile_counts(profile) == [1, 1, 0, 0, 0, 0, 0, 3, 0, 0]


def test_deleting_a_profile_deletes_its_examples_and_nothing_else(
    make_store: MakeStore, database: str
) -> None:
    store = make_store()
    doomed, kept = store.create_profile(), store.create_profile()
    for seed in range(3):
        add(store, 4, doomed, seed)
    add(store, 5, kept)
    add(store, 6)
    assert store.delete_profile(doomed) is True
    assert store.profile_counts(doomed) is None
    assert store.delete_profile(doomed) is False  # already gone
    # Read from the tables themselves: the rows are gone, not hidden.
    assert query(database, "SELECT COUNT(*) FROM profiles WHERE id = ?", (doomed,)) == [(0,)]
    assert query(database, "SELECT COUNT(*) FROM examples WHERE profile = ?", (doomed,)) == [(0,)]
    assert query(database, "SELECT label FROM examples ORDER BY id") == [(5,), (6,)]
    assert store.profile_counts(kept) == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]


@pytest.mark.parametrize("bad", ["", "no such profile", "a\x00b", "x" * 65, "../../etc", "é"])
def test_ids_that_cannot_be_profiles_are_unknown(make_store: MakeStore, bad: str) -> None:
    store = make_store()
    assert store.profile_counts(bad) is None
    assert store.delete_profile(bad) is False
    with pytest.raises(UnknownProfileError):
        store.profile_revision(bad)
    with pytest.raises(UnknownProfileError):
        store.examples_for(bad)
    with pytest.raises(UnknownProfileError):
        add(store, 1, bad)


def test_an_unknown_profile_gets_no_example(make_store: MakeStore, database: str) -> None:
    store = make_store()
    with pytest.raises(UnknownProfileError, match="unknown profile"):
        add(store, 1, "AAAAAAAAAAAAAAAAAAAAAA")
    assert query(database, "SELECT COUNT(*) FROM examples") == [(0,)]


# ------------------------------------------------------------------------------ examples
def test_an_example_comes_back_exactly_as_stored(make_store: MakeStore, database: str) -> None:
    store = make_store()
    profile = store.create_profile()
    pixels = random_pixels(7)
    strokes = [[[10.5, 20.0], [11.0, 40.25]], [[3.0, 4.0]]]
    before = datetime.now(UTC)
    example_id, count = store.add_example(pixels, 8, 3, SHA256, profile, strokes)
    assert count == 1
    inputs, labels = store.examples_for(profile)
    assert inputs.dtype == np.uint8
    assert inputs.shape == (1, 28, 28)
    assert np.array_equal(inputs[0], pixels)
    assert labels.tolist() == [8]
    (stored,) = store.all_examples()
    assert stored.id == example_id
    assert np.array_equal(stored.pixels, pixels)
    assert (stored.label, stored.prediction, stored.weights_sha256) == (8, 3, SHA256)
    assert stored.profile == profile
    assert stored.strokes == strokes
    assert before - timedelta(seconds=1) <= stored.created <= datetime.now(UTC)
    assert stored.created.utcoffset() == timedelta(0)
    # The column holds the 784 bytes, row-major, nothing else.
    (raw,) = query(database, "SELECT pixels FROM examples")
    assert bytes(raw[0]) == pixels.tobytes()


def test_examples_without_profile_or_strokes(make_store: MakeStore) -> None:
    store = make_store()
    assert store.add_example(random_pixels(1), 0, 0, SHA256) == (1, 1)
    assert store.add_example(random_pixels(2), 9, 9, SHA256)[1] == 2  # the store's total
    first, second = store.all_examples()
    assert (first.profile, first.strokes) == (None, None)
    assert second.label == 9


def test_examples_for_returns_a_profiles_examples_oldest_first(make_store: MakeStore) -> None:
    store = make_store()
    mine, theirs = store.create_profile(), store.create_profile()
    for seed, label in enumerate([3, 1, 4, 1, 5]):
        store.add_example(random_pixels(seed), label, label, SHA256, mine)
        store.add_example(random_pixels(100 + seed), 9, 9, SHA256, theirs)
    inputs, labels = store.examples_for(mine)
    assert labels.tolist() == [3, 1, 4, 1, 5]
    assert all(np.array_equal(inputs[i], random_pixels(i)) for i in range(5))
    empty = store.create_profile()
    inputs, labels = store.examples_for(empty)
    assert inputs.shape == (0, 28, 28)
    assert labels.shape == (0,)


def test_all_examples_reads_every_example_in_batches(
    make_store: MakeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.store.base, "BATCH", 3)
    store = make_store()
    for seed in range(10):
        store.add_example(random_pixels(seed), seed % 10, 0, SHA256)
    examples = list(store.all_examples())
    assert [e.label for e in examples] == list(range(10))
    assert [e.id for e in examples] == sorted({e.id for e in examples})


def test_the_revision_grows_with_each_example_of_its_profile_only(make_store: MakeStore) -> None:
    store = make_store()
    mine, theirs = store.create_profile(), store.create_profile()
    assert store.profile_revision(mine) == 0  # a profile without examples exists all the same
    add(store, 1, mine)
    first = store.profile_revision(mine)
    assert first > 0
    add(store, 1, theirs)
    add(store, 1)
    assert store.profile_revision(mine) == first  # others' examples do not change it
    assert store.profile_revision(theirs) > first
    add(store, 2, mine)
    assert store.profile_revision(mine) > first
    store.delete_profile(mine)
    for unknown in (mine, "never-made", "not an id!"):
        with pytest.raises(UnknownProfileError):
            store.profile_revision(unknown)


@pytest.mark.parametrize(
    ("pixels", "label", "prediction"),
    [
        (np.zeros((28, 28), dtype=np.float32), 1, 1),
        (np.zeros((784,), dtype=np.uint8), 1, 1),
        (np.zeros((28, 28), dtype=np.uint8), 10, 1),
        (np.zeros((28, 28), dtype=np.uint8), 1, -1),
    ],
)
def test_malformed_examples_are_refused_before_the_database(
    make_store: MakeStore, pixels: np.ndarray, label: int, prediction: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        make_store().add_example(pixels, label, prediction, SHA256)


# ------------------------------------------------------------------------------ limits
def test_a_full_profile_refuses_more_examples(make_store: MakeStore) -> None:
    store = make_store(max_profile_examples=3)
    full, other = store.create_profile(), store.create_profile()
    assert [add(store, 1, full) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(ProfileFullError, match="holds 3 examples, the most a profile may hold"):
        add(store, 1, full)
    assert add(store, 1, other) == 1  # other profiles, and examples without one, still go in
    add(store, 1)
    assert store.profile_counts(full) == [0, 3, 0, 0, 0, 0, 0, 0, 0, 0]


def test_a_database_at_its_size_limit_refuses_new_examples_and_profiles(
    make_store: MakeStore,
) -> None:
    roomy = make_store()
    profile = roomy.create_profile()
    add(roomy, 1, profile)
    tight = make_store(max_database_bytes=1024)  # smaller than any database
    with pytest.raises(DatabaseFullError, match="at its size limit"):
        add(tight, 1, profile)
    with pytest.raises(DatabaseFullError):
        tight.create_profile()
    assert tight.profile_counts(profile) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0]  # reading still works
    assert tight.delete_profile(profile)  # and so does deleting


# ------------------------------------------------------------------------------ concurrency
def run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            work(index)
        except BaseException as error:  # reported by the caller
            errors.append(error)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_writers_lose_nothing(make_store: MakeStore, database: str) -> None:
    """Four threads, each with its own store (its own connection), write at once."""
    setup = make_store()
    profile = setup.create_profile()
    stores = [make_store() for _ in range(4)]
    counts: list[int] = []
    ids: list[int] = []

    def write(index: int) -> None:
        for n in range(15):
            example_id, count = stores[index].add_example(
                random_pixels(n), n % 10, 0, SHA256, profile if n % 3 else None
            )
            ids.append(example_id)
            if n % 3:
                counts.append(count)

    assert run_threads(4, write) == []
    assert len(set(ids)) == 60
    assert sorted(counts) == list(range(1, 41))  # each profile example saw its own count
    assert sum(setup.profile_counts(profile) or []) == 40
    assert query(database, "SELECT COUNT(*) FROM examples") == [(60,)]


def test_concurrent_writers_never_overfill_a_profile(make_store: MakeStore) -> None:
    setup = make_store()
    profile = setup.create_profile()
    stores = [make_store(max_profile_examples=25) for _ in range(4)]
    refused: list[int] = []

    def write(index: int) -> None:
        for _ in range(10):
            try:
                add(stores[index], 2, profile)
            except ProfileFullError:
                refused.append(index)

    assert run_threads(4, write) == []
    assert setup.profile_counts(profile) == [0, 0, 25, 0, 0, 0, 0, 0, 0, 0]
    assert len(refused) == 15


# ------------------------------------------------------------------------------ odds and ends
def test_describe_database_hides_passwords() -> None:
    assert describe_database("/data/digits.sqlite3") == "/data/digits.sqlite3"
    described = describe_database("postgresql://me:s3cret@db/digits?password=s3cret&port=5")
    assert "s3cret" not in described
    assert described == "postgresql://me:***@db/digits?password=***&port=5"


def test_postgresql_without_psycopg_is_unavailable_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "app.store.postgres", None)  # import fails
    store = open_store("postgresql://localhost/digits", StoreLimits())
    with pytest.raises(StoreUnavailableError, match=r"pip install 'digits\[postgres\]'"):
        store.create_profile()
