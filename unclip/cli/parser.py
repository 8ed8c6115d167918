"""The argument parser class of every `unclip` subcommand: positionals may follow options.

Plain argparse matches positionals greedily in runs: in `unclip outpaint IMAGE --left 256 "prompt"` the
run before `--left` is only IMAGE, so the optional PROMPT gets its default there and the later
"prompt" is an unrecognized argument. `parse_known_intermixed_args` parses options first and the
positionals afterwards, so they can come in any order, as the docs write them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


class CommandParser(argparse.ArgumentParser):
    """An ArgumentParser whose positionals and options may be intermixed (where argparse allows it:
    not for parsers that have subcommands of their own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._intermixing = False

    def _can_intermix(self) -> bool:
        return not any(action.nargs in (argparse.PARSER, argparse.REMAINDER) for action in self._actions)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or not self._can_intermix():
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # parse_known_intermixed_args calls parse_known_args itself
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
