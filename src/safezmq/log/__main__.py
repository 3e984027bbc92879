"""``python -m safezmq.log URL``: print the log records a ``PUBHandler`` publishes.

The arguments and the output lines are those of pyzmq's ``python -m zmq.log``: one line per
record, ``[timestamp ]topic<separator>message``, optionally colored by level (``--color`` needs
colorama) and with topics aligned in columns (``--align``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import datetime

from ..constants import PollEvent, SocketType
from ..context import Context


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser("ZMQ Log Watcher")
    parser.add_argument("zmq_pub_url", type=str, help="URL to a ZMQ publisher socket.")
    parser.add_argument(
        "-t",
        "--topic",
        type=str,
        default="",
        help="Only receive messages that start with this topic.",
    )
    parser.add_argument(
        "--timestamp", action="store_true", help="Append local time to the log messages."
    )
    parser.add_argument(
        "--separator", type=str, default=" | ", help="String to print between topic and message."
    )
    parser.add_argument(
        "--dateformat",
        type=str,
        # pyzmq's default, day before month included.
        default="%Y-%d-%m %H:%M",
        help="Set alternative date format for use with --timestamp.",
    )
    parser.add_argument(
        "--align",
        action="store_true",
        default=False,
        help="Try to align messages by the width of their topics.",
    )
    parser.add_argument(
        "--color",
        action="store_true",
        default=False,
        help="Color the output based on the error level. Requires the colorama module.",
    )
    return parser


def _colors() -> dict[str, str]:
    import colorama  # type: ignore[import-untyped, unused-ignore]  # optional: --color only

    colorama.init()
    fore = colorama.Fore
    return {
        "DEBUG": fore.LIGHTCYAN_EX,
        "INFO": fore.LIGHTWHITE_EX,
        "WARNING": fore.YELLOW,
        "ERROR": fore.LIGHTRED_EX,
        "CRITICAL": fore.LIGHTRED_EX,
        "__RESET__": fore.RESET,
    }


class _Aligner:
    """Pads each dot-separated part of a topic to the widest part seen so far in its column."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def __call__(self, parts: list[str]) -> str:
        parts = parts + [" "] * (len(self.widths) - len(parts))
        for i, part in enumerate(parts):
            if i == len(self.widths):
                self.widths.append(0)
            self.widths[i] = max(self.widths[i], len(part))
        return ".".join(part.ljust(self.widths[i]) for i, part in enumerate(parts))


def format_line(
    topic: bytes,
    msg: bytes,
    args: argparse.Namespace,
    colors: dict[str, str],
    align: _Aligner | None,
) -> str:
    """The line printed for one ``[topic, msg]`` record."""
    text_topic = topic.decode("utf8", "replace").strip()
    parts = text_topic.split(".")
    # With a root topic the level is the second part, without one the first.
    level = parts[0] if len(parts) == 1 else parts[1]
    shown = align(parts) if align is not None else text_topic
    ts = datetime.now().strftime(args.dateformat) + " " if args.timestamp else ""
    body = msg.decode("utf8", "replace").strip()
    return f"{ts}{colors.get(level, '')}{shown}{args.separator}{body}{colors.get('__RESET__', '')}"


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    colors = _colors() if args.color else {}
    align = _Aligner() if args.align else None

    ctx = Context()
    sub = ctx.socket(SocketType.SUB)
    try:
        sub.subscribe(args.topic.encode("utf8"))
        sub.connect(args.zmq_pub_url)
        while True:
            try:
                if not sub.poll(10, PollEvent.POLLIN):
                    continue
                frames = sub.recv_multipart()
                if len(frames) != 2:
                    # Not a PUBHandler record; a watcher must not die on a stray publisher.
                    continue
                print(format_line(frames[0], frames[1], args, colors, align), flush=True)
            except KeyboardInterrupt:
                break
        sub.disconnect(args.zmq_pub_url)
    finally:
        sub.close(linger=0)
        ctx.term()
    if args.color:
        print(colors["__RESET__"])


if __name__ == "__main__":
    main()
