"""Each profile's prototypes, kept between requests and rebuilt when the profile gains examples.

A request with a profile asks the store one cheap question, the profile's revision (the id of
its newest example), and reads the examples and runs them through the network only when that
has moved since the last time. So a new example counts on the very next request, from any
server process, and a profile read again costs one small query. Unknown profiles raise the
store's UnknownProfileError (and a deleted profile's prototypes are dropped then, or at once
by the process that deleted it); an unusable store, StoreUnavailableError.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from app.store import Store, UnknownProfileError
from model.serving.predictor import Predictor
from model.serving.prototypes import Prototypes

# The most recently used profiles are kept, up to this many examples in all: each example's
# description is 2,048 float32 (8 KiB), so 160 MiB at most, whatever the profiles' sizes.
EXAMPLES_KEPT = 20_000


class PrototypeCache:
    """`get(profile)` -> that profile's Prototypes, as of its newest example. Thread-safe."""

    def __init__(self, store: Store, predictor: Predictor, examples: int = EXAMPLES_KEPT) -> None:
        self.store = store
        self.predictor = predictor
        self.examples = examples
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[int, Prototypes]] = OrderedDict()

    def get(self, profile: str) -> Prototypes:
        try:
            revision = self.store.profile_revision(profile)
        except UnknownProfileError:
            # Deleted, maybe through another server process: what was derived from its
            # drawings goes from this one's memory too.
            self.forget(profile)
            raise
        with self._lock:
            kept = self._kept.get(profile)
            if kept is not None and kept[0] == revision:
                self._kept.move_to_end(profile)
                return kept[1]
        # Outside the lock: a slow rebuild must not hold up other profiles. Two requests may
        # both rebuild one profile; the result is the same.
        images, labels = self.store.examples_for(profile)
        prototypes = self.predictor.prototypes(images, labels)
        with self._lock:
            self._kept[profile] = (revision, prototypes)
            self._kept.move_to_end(profile)
            kept_examples = sum(len(p) for _, p in self._kept.values())
            while kept_examples > self.examples and len(self._kept) > 1:
                _, (_, dropped) = self._kept.popitem(last=False)
                kept_examples -= len(dropped)
        return prototypes

    def forget(self, profile: str) -> None:
        """Drop a profile's prototypes (its examples' descriptions): when it is deleted."""
        with self._lock:
            self._kept.pop(profile, None)
