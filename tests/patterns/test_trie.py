"""sockets/trie.Trie: unit tests, a Hypothesis model-based test against a dict of counters,
and checks that no operation recurses however deep or long the topics (CVE-2021-20236)."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from safezmq.sockets.trie import Trie, _Node

T = TypeVar("T")

# -- unit tests ------------------------------------------------------------------------------------


def test_prefix_match() -> None:
    trie: Trie[str] = Trie()
    trie.add(b"ab", "p")
    trie.add(b"abcd", "q")
    trie.add(b"x", "r")
    assert trie.match(b"ab") == {"p"}
    assert trie.match(b"abc") == {"p"}
    assert trie.match(b"abcdef") == {"p", "q"}
    assert trie.match(b"a") == set()
    assert trie.match(b"") == set()
    assert trie.match(b"xyz") == {"r"}
    assert trie.match(b"Ab") == set()


def test_empty_topic_matches_everything() -> None:
    trie: Trie[str] = Trie()
    trie.add(b"", "all")
    trie.add(b"a", "some")
    assert trie.match(b"") == {"all"}
    assert trie.match(b"anything") == {"all", "some"}
    assert trie.match(b"\x00\xff") == {"all"}


def test_match_returns_a_set_of_the_callers_own() -> None:
    """With only empty-prefix subscriptions (the walk is skipped) and with longer ones, what
    match() returns may be changed without changing the trie."""
    trie: Trie[str] = Trie()
    trie.add(b"", "all")
    found = trie.match(b"x")
    found.add("intruder")
    found.discard("all")
    assert trie.match(b"x") == {"all"}
    trie.add(b"x", "some")
    found = trie.match(b"xy")
    found.clear()
    assert trie.match(b"xy") == {"all", "some"}
    trie.remove(b"", "all")
    trie.remove(b"x", "some")
    assert trie.match(b"xy") == set()


def test_counted_add_and_remove() -> None:
    trie: Trie[str] = Trie()
    assert trie.add(b"t", "p") is True  # first subscription of p to t
    assert trie.add(b"t", "p") is False  # counted again
    assert len(trie) == 1
    assert trie.remove(b"t", "p") is False  # one left
    assert trie.match(b"t") == {"p"}
    assert trie.remove(b"t", "p") is True  # the last one
    assert trie.match(b"t") == set()
    assert trie.remove(b"t", "p") is False  # nothing to cancel
    assert len(trie) == 0


def test_uncounted_is_a_set() -> None:
    trie: Trie[str] = Trie(counted=False)
    assert trie.add(b"t", "p") is True
    assert trie.add(b"t", "p") is False
    assert trie.remove(b"t", "p") is True  # one cancel is enough
    assert trie.match(b"t") == set()


def test_remove_of_unknown_topics_and_pipes() -> None:
    trie: Trie[str] = Trie()
    trie.add(b"abc", "p")
    assert trie.remove(b"ab", "p") is False  # a prefix of a topic is not the topic
    assert trie.remove(b"abcd", "p") is False
    assert trie.remove(b"abc", "q") is False
    assert trie.remove(b"zzz", "p") is False
    assert trie.match(b"abc") == {"p"}


def test_remove_pipe_reports_topics_nobody_wants_any_more() -> None:
    trie: Trie[str] = Trie()
    for topic in (b"a", b"ab", b"b"):
        trie.add(topic, "p")
    trie.add(b"ab", "p")  # counted twice: still gone in one go
    trie.add(b"b", "q")
    assert sorted(trie.remove_pipe("p")) == [b"a", b"ab"]  # b is still q's
    assert sorted(trie.topics()) == [b"b"]
    assert len(trie) == 1
    assert trie.remove_pipe("p") == []


def test_remove_pipe_every_lists_all_its_topics() -> None:
    trie: Trie[str] = Trie()
    for topic in (b"a", b"b"):
        trie.add(topic, "p")
    trie.add(b"b", "q")
    assert sorted(trie.remove_pipe("p", every=True)) == [b"a", b"b"]
    assert trie.match(b"b") == {"q"}


def test_has_subscribed_topics() -> None:
    trie: Trie[str] = Trie()
    trie.add(b"ab", "p")
    trie.add(b"abc", "q")
    trie.add(b"", "r")
    assert trie.has(b"ab", "p") and not trie.has(b"ab", "q") and not trie.has(b"a", "p")
    assert trie.subscribed(b"abc") and trie.subscribed(b"") and not trie.subscribed(b"a")
    assert sorted(trie.topics()) == [b"", b"ab", b"abc"]


def test_edges_split_and_merge() -> None:
    """A radix trie: the shared prefix becomes one edge, and removing a topic merges the
    edges back (no empty or single-child internal node is left behind)."""
    trie: Trie[str] = Trie()
    trie.add(b"abcdef", "p")
    assert _shape(trie) == {b"abcdef": {}}
    trie.add(b"abcxyz", "q")
    assert _shape(trie) == {b"abc": {b"def": {}, b"xyz": {}}}
    trie.remove(b"abcxyz", "q")
    assert _shape(trie) == {b"abcdef": {}}
    trie.remove(b"abcdef", "p")
    assert _shape(trie) == {}


def _shape(trie: Trie[Any]) -> dict[bytes, Any]:
    def walk(node: _Node[Any]) -> dict[bytes, Any]:
        return {label: walk(child) for label, child in node.children.values()}

    return walk(trie._root)


def test_huge_topic_is_one_edge() -> None:
    topic = bytes(range(256)) * 40_000  # 10 MB
    trie: Trie[str] = Trie()
    trie.add(topic, "p")
    assert len(trie._root.children) == 1
    ((label, child),) = trie._root.children.values()
    assert label == topic and not child.children
    assert trie.match(topic + b"tail") == {"p"}
    assert trie.match(topic[:-1]) == set()
    almost = topic[:-1] + b"\x00"
    trie.add(almost, "q")  # splits the edge at its very end
    assert trie.match(almost) == {"q"} and trie.match(topic) == {"p"}
    assert trie.remove(topic, "p") and trie.remove(almost, "q")
    assert _shape(trie) == {}


# -- no recursion ----------------------------------------------------------------------------------


def _with_small_stack(fn: Callable[[], T]) -> T:
    """Run ``fn`` with only a few dozen frames of headroom above the caller: any operation
    that recursed per octet or per trie level would raise RecursionError."""
    depth = 0
    frame: FrameType | None = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 60)
    try:
        return fn()
    finally:
        sys.setrecursionlimit(old)


def test_deep_trie_operations_do_not_recurse() -> None:
    """1,000 nested topics (a, aa, aaa, ...) make a trie 1,000 levels deep."""
    n = 1000
    topics = [b"a" * i for i in range(1, n + 1)]

    def work() -> None:
        trie: Trie[int] = Trie()
        for topic in topics:
            trie.add(topic, 1)
        trie.add(topics[-1], 2)
        assert trie.match(b"a" * (n + 10)) == {1, 2}
        assert trie.subscribed(topics[-1]) and trie.has(topics[-2], 1)
        assert sum(1 for _ in trie.topics()) == n
        for topic in topics[::2]:  # remove every other level: merges all along the chain
            assert trie.remove(topic, 1)
        assert trie.match(b"a" * n) == {1, 2}
        emptied = trie.remove_pipe(1)
        assert len(emptied) == n // 2 - 1  # the deepest topic is still pipe 2's
        assert sorted(trie.topics()) == [topics[-1]]
        assert trie.remove(topics[-1], 2)
        assert _node_count(trie) == 1

    _with_small_stack(work)


def test_many_branching_topics_do_not_recurse() -> None:
    """Every topic branches off the previous one at its last octet: deep and wide."""

    def work() -> None:
        trie: Trie[str] = Trie()
        prefix = b""
        for i in range(1000):
            trie.add(prefix + b"x", "p")
            prefix += bytes([i % 200 + 1])
        assert len(trie) == 1000
        assert len(trie.remove_pipe("p")) == 1000
        assert _node_count(trie) == 1

    _with_small_stack(work)


def _node_count(trie: Trie[Any]) -> int:
    count = 0
    stack = [trie._root]
    while stack:
        node = stack.pop()
        count += 1
        stack.extend(child for _, child in node.children.values())
    return count


def test_huge_topic_in_a_thread_with_a_tiny_stack() -> None:
    """An 8 MB topic, handled on a 256 KiB thread stack (a per-octet recursion would need
    hundreds of megabytes)."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            topic = b"\x01" * 8_000_000
            trie: Trie[str] = Trie()
            trie.add(topic, "p")
            trie.add(topic[:4_000_000] + b"\x02", "q")
            assert trie.match(topic) == {"p"}
            assert sorted(trie.remove_pipe("p")) == [topic]
            assert list(trie.topics()) == [topic[:4_000_000] + b"\x02"]
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)

    old = threading.stack_size(256 * 1024)
    try:
        thread = threading.Thread(target=work)
        thread.start()
    finally:
        threading.stack_size(old)
    thread.join(30)
    assert not thread.is_alive()
    assert not errors, errors


# -- model-based -----------------------------------------------------------------------------------

TOPICS = st.binary(max_size=6).map(lambda b: bytes(x % 3 + 0x61 for x in b))  # a/b/c only
PIPES = st.sampled_from(["p", "q", "r"])


class TrieModel(RuleBasedStateMachine):
    """The trie against a Counter of (topic, pipe) in both modes."""

    def __init__(self) -> None:
        super().__init__()
        self.trie: Trie[str] = Trie()
        self.model: Counter[tuple[bytes, str]] = Counter()
        self.counted = True

    @initialize(counted=st.booleans())
    def mode(self, counted: bool) -> None:
        self.counted = counted
        self.trie = Trie(counted=counted)

    @rule(topic=TOPICS, pipe=PIPES)
    def add(self, topic: bytes, pipe: str) -> None:
        before = self.model[(topic, pipe)]
        assert self.trie.add(topic, pipe) == (before == 0)
        if self.counted or before == 0:
            self.model[(topic, pipe)] += 1

    @rule(topic=TOPICS, pipe=PIPES)
    def remove(self, topic: bytes, pipe: str) -> None:
        before = self.model[(topic, pipe)]
        assert self.trie.remove(topic, pipe) == (before == 1)
        if before:
            self.model[(topic, pipe)] -= 1
            if not self.model[(topic, pipe)]:
                del self.model[(topic, pipe)]

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def remove_existing(self, data: st.DataObject) -> None:
        topic, pipe = data.draw(st.sampled_from(sorted(self.model)))
        self.remove(topic, pipe)

    @rule(pipe=PIPES, every=st.booleans())
    def remove_pipe(self, pipe: str, every: bool) -> None:
        mine = {t for (t, p) in self.model if p == pipe}
        for topic in mine:
            del self.model[(topic, pipe)]
        others = {t for (t, _) in self.model}
        expected = mine if every else mine - others
        got = self.trie.remove_pipe(pipe, every=every)
        assert len(got) == len(set(got))
        assert set(got) == expected

    @rule(message=st.binary(max_size=8).map(lambda b: bytes(x % 4 + 0x61 for x in b)))
    def match(self, message: bytes) -> None:
        expected = {p for (t, p) in self.model if message.startswith(t)}
        assert self.trie.match(message) == expected
        assert self.trie.matches(message) is bool(expected)

    @rule(topic=TOPICS, pipe=PIPES)
    def has(self, topic: bytes, pipe: str) -> None:
        assert self.trie.has(topic, pipe) == ((topic, pipe) in self.model)
        assert self.trie.subscribed(topic) == any(t == topic for (t, _) in self.model)

    @invariant()
    def sizes_and_topics(self) -> None:
        assert len(self.trie) == len(self.model)
        topics = list(self.trie.topics())
        assert len(topics) == len(set(topics))
        assert set(topics) == {t for (t, _) in self.model}

    @invariant()
    def shortcut_views(self) -> None:
        """What a publisher and a subscriber read instead of a match: the holders of the empty
        prefix, and whether any longer prefix is subscribed, live as the trie changes."""
        assert set(self.trie.takes_all) == {p for (t, p) in self.model if t == b""}
        assert bool(self.trie.longer) == any(t != b"" for (t, _) in self.model)

    @invariant()
    def compact(self) -> None:
        """No node that holds nothing and leads nowhere, no chain of single children, and
        every edge is keyed by its first octet."""
        for node, is_root in _nodes(self.trie):
            for key, (label, _child) in node.children.items():
                assert label and label[0] == key
            if not is_root:
                assert node.counts or len(node.children) >= 2
            assert all(count > 0 for count in node.counts.values())
            if not self.counted:
                assert all(count == 1 for count in node.counts.values())


def _nodes(trie: Trie[Any]) -> Iterator[tuple[_Node[Any], bool]]:
    stack: list[tuple[_Node[Any], bool]] = [(trie._root, True)]
    while stack:
        node, is_root = stack.pop()
        yield node, is_root
        stack.extend((child, False) for _, child in node.children.values())


TrieModel.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_trie_model = TrieModel.TestCase


@pytest.mark.parametrize("counted", [True, False])
def test_counts_survive_splits(counted: bool) -> None:
    """A count held on a node survives that node's edge being split and merged again."""
    trie: Trie[str] = Trie(counted=counted)
    trie.add(b"abcd", "p")
    trie.add(b"abcd", "p")
    trie.add(b"ab", "q")  # splits abcd into ab + cd
    trie.remove(b"ab", "q")  # merges them back
    assert trie.remove(b"abcd", "p") is (not counted)
    assert trie.match(b"abcd") == (({"p"}) if counted else set())
