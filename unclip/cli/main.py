"""The `unclip` command. Each subcommand lives in its own module with a `register(subparsers)` function."""

from __future__ import annotations

import argparse
import importlib
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


if __name__ == "__main__":
    sys.exit(main())
