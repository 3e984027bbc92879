"""Prefix subscriptions: a radix trie with per-pipe counts, walked without recursion.

Edges carry whole byte strings, so an 8 MB topic is one node holding 8 MB, not eight million
nodes, and no operation recurses: insert, remove, match and "remove everything of this pipe"
are loops.  Subscriptions are counted per pipe (RFC 29: subscribing twice needs two cancels).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class _Node(Generic[P]):
    __slots__ = ("children", "counts")

    def __init__(self) -> None:
        # first octet of the edge -> (edge label, child)
        self.children: dict[int, tuple[bytes, _Node[P]]] = {}
        self.counts: dict[P, int] = {}


class Trie(Generic[P]):
    """Topics (byte prefixes) -> the pipes subscribed to them, with counts."""

    def __init__(self, counted: bool = True) -> None:
        self._root: _Node[P] = _Node()
        self._size = 0  # distinct (topic, pipe) pairs
        # Live views of the root, which is never replaced, for the per-message shortcuts of a
        # publisher and a subscriber (an attribute read where a call would cost more than the
        # answer).  Read them; never change them.
        #: The holders of the empty prefix: they take every message.
        self.takes_all: dict[P, int] = self._root.counts
        #: Longer prefixes, by first octet: empty when only the empty prefix is subscribed.
        self.longer: dict[int, tuple[bytes, _Node[P]]] = self._root.children
        #: Counted: subscribing twice needs two removals.  Uncounted (a set per topic): what
        #: libzmq's XPUB does, because an XSUB sends every subscribe but only the last cancel.
        self.counted = counted

    def __len__(self) -> int:
        return self._size

    def add(self, topic: bytes, pipe: P) -> bool:
        """Count one subscription of ``pipe`` to ``topic``.  True if it is the pipe's first
        subscription to exactly that topic."""
        node = self._root
        pos = 0
        n = len(topic)
        while pos < n:
            edge = node.children.get(topic[pos])
            if edge is None:
                child: _Node[P] = _Node()
                node.children[topic[pos]] = (topic[pos:], child)
                node = child
                pos = n
                break
            label, child = edge
            common = _common_prefix(label, topic, pos)
            if common == len(label):
                node = child
                pos += common
                continue
            # Split the edge at the first difference.
            middle: _Node[P] = _Node()
            middle.children[label[common]] = (label[common:], child)
            node.children[topic[pos]] = (label[:common], middle)
            node = middle
            pos += common
        count = node.counts.get(pipe, 0)
        if count and not self.counted:
            return False
        node.counts[pipe] = count + 1
        if count == 0:
            self._size += 1
            return True
        return False

    def remove(self, topic: bytes, pipe: P) -> bool:
        """Cancel one subscription.  True if it was the pipe's last one to that topic; False
        also when there was none to cancel."""
        node = self._root
        path: list[tuple[_Node[P], int]] = []  # (parent, first octet of the edge taken)
        pos = 0
        n = len(topic)
        while pos < n:
            edge = node.children.get(topic[pos])
            if edge is None:
                return False
            label, child = edge
            if not topic.startswith(label, pos):
                return False
            path.append((node, topic[pos]))
            node = child
            pos += len(label)
        count = node.counts.get(pipe, 0)
        if count == 0:
            return False
        if count > 1:
            node.counts[pipe] = count - 1
            return False
        del node.counts[pipe]
        self._size -= 1
        self._prune(node, path)
        return True

    def _prune(self, node: _Node[P], path: list[tuple[_Node[P], int]]) -> None:
        """Drop nodes left empty, and merge a node with its only child (keeps the trie tight)."""
        while path:
            parent, key = path.pop()
            label, _ = parent.children[key]
            if not node.counts and not node.children:
                del parent.children[key]
            elif not node.counts and len(node.children) == 1:
                ((child_label, child),) = node.children.values()
                parent.children[key] = (label + child_label, child)
            else:
                return
            node = parent

    def remove_pipe(self, pipe: P, every: bool = False) -> list[bytes]:
        """Forget every subscription of ``pipe`` (it disconnected); return the topics that no
        pipe subscribes to any more (``every``: all the topics ``pipe`` had)."""
        emptied: list[bytes] = []
        removed: list[bytes] = []
        stack: list[tuple[_Node[P], bytes]] = [(self._root, b"")]
        while stack:
            node, prefix = stack.pop()
            if node.counts.pop(pipe, 0):
                self._size -= 1
                removed.append(prefix)
                if not node.counts:
                    emptied.append(prefix)
            for label, child in node.children.values():
                stack.append((child, prefix + label))
        for topic in emptied:
            self._compact(topic)
        return removed if every else emptied

    def _compact(self, topic: bytes) -> None:
        node = self._root
        path: list[tuple[_Node[P], int]] = []
        pos = 0
        while pos < len(topic):
            edge = node.children.get(topic[pos])
            if edge is None:
                return
            label, child = edge
            path.append((node, topic[pos]))
            node = child
            pos += len(label)
        if not node.counts:
            self._prune(node, path)

    def match(self, message: bytes) -> set[P]:
        """The pipes with a subscription that is a prefix of ``message`` (a new set each time:
        the caller may change it)."""
        node = self._root
        if not node.children:
            # Only empty-prefix subscriptions (or none): the commonest PUB, every subscriber
            # taking everything.  The answer is then the root's set whatever the message, so
            # there is nothing to walk (half the cost of a match, paid per message sent).
            return set(node.counts)
        found: set[P] = set()
        pos = 0
        n = len(message)
        while True:
            if node.counts:
                found.update(node.counts)
            if pos >= n:
                return found
            edge = node.children.get(message[pos])
            if edge is None:
                return found
            label, child = edge
            if not message.startswith(label, pos):
                return found
            node = child
            pos += len(label)

    def matches(self, message: bytes) -> bool:
        """Whether any subscription is a prefix of ``message`` (``match`` without building the
        set: a SUB asks this of every message it receives)."""
        node = self._root
        pos = 0
        n = len(message)
        while True:
            if node.counts:
                return True
            if pos >= n:
                return False
            edge = node.children.get(message[pos])
            if edge is None:
                return False
            label, child = edge
            if not message.startswith(label, pos):
                return False
            node = child
            pos += len(label)

    def has(self, topic: bytes, pipe: P) -> bool:
        """Whether ``pipe`` holds a subscription to exactly ``topic``."""
        node = self._find(topic)
        return node is not None and pipe in node.counts

    def _find(self, topic: bytes) -> _Node[P] | None:
        node = self._root
        pos = 0
        while pos < len(topic):
            edge = node.children.get(topic[pos])
            if edge is None or not topic.startswith(edge[0], pos):
                return None
            node = edge[1]
            pos += len(edge[0])
        return node

    def subscribed(self, topic: bytes) -> bool:
        """Whether any pipe holds a subscription to exactly ``topic``."""
        node = self._find(topic)
        return node is not None and bool(node.counts)

    def topics(self) -> Iterator[bytes]:
        """Every topic with at least one subscription."""
        stack: list[tuple[_Node[P], bytes]] = [(self._root, b"")]
        while stack:
            node, prefix = stack.pop()
            if node.counts:
                yield prefix
            for label, child in node.children.values():
                stack.append((child, prefix + label))


def _common_prefix(label: bytes, topic: bytes, pos: int) -> int:
    """Length of the common prefix of ``label`` and ``topic[pos:]`` (without slicing when the
    whole label matches, the common case)."""
    if topic.startswith(label, pos):
        return len(label)
    limit = min(len(label), len(topic) - pos)
    i = 0
    while i < limit:
        j = min(i + 4096, limit)  # compare in chunks: memcmp speed even for huge topics
        if label[i:j] == topic[pos + i : pos + j]:
            i = j
            continue
        while label[i] == topic[pos + i]:
            i += 1
        return i
    return i
