"""The `unclip` command. Each subcommand lives in its own module with a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys

from unclip.cli.parser import CommandParser
from unclip.errors import UnclipError
from unclip.utils.config import ConfigError

# Subcommand modules under unclip.cli, in the order `unclip --help` lists them.
COMMANDS = [
    "generate",
    "edit",
    "outpaint",
    "vary",
    "interpolate",
    "textdiff",
    "verify",
    "serve",
    "keys",
    "data",
    "convert",
    "embed",
    "train",
    "evaluate",
    "judge",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unclip",
        description="unclip: an open reimplementation of DALL-E 2 (unCLIP).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in COMMANDS:
        importlib.import_module(f"unclip.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UnclipError as e:
        from unclip.safety.errors import ContentPolicyViolation  # here: the package pulls in numpy

        if isinstance(e, ContentPolicyViolation):
            print(f"unclip: refused: {e}", file=sys.stderr)
            return 3
        print(f"unclip: error: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"unclip: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("unclip: interrupted", file=sys.stderr)
        return 130


# One image job in the calling thread, then done: these skip the interpreter's teardown (see `entry`).
# The others (serving, training, data builds with worker processes, evaluation) exit normally.
FAST_EXIT = frozenset({"generate", "edit", "outpaint", "vary", "interpolate", "textdiff", "verify"})


def entry() -> None:
    """The `unclip` program: `main()`, then, for the image commands (`FAST_EXIT`), exit without tearing
    the interpreter down: freeing every module of torch and transformers one by one took over a second
    of CPU after the work was done. The output streams are flushed and the atexit handlers run (logging,
    temporary files) before that exit."""
    code = main()
    if len(sys.argv) < 2 or sys.argv[1] not in FAST_EXIT:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written to it anyway
            pass
    os._exit(code)


if __name__ == "__main__":
    entry()
