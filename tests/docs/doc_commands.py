"""Every `unclip` command line shown in README.md and docs/*.md, as argv lists.

Sources: lines of fenced code blocks (backslash continuations joined, `# comments` dropped, `a && b`
split), including `accelerate launch ... -m unclip.cli.main ...` and `torchrun ... -m unclip.cli.main
...` lines, and inline code spans in the text that are command lines (`unclip vary IMAGE -n 4`), not
mere mentions of a command or an option (`unclip train`, `unclip embed --hidden`, `unclip train ... --resume`).

Synopses (`[--mask MASK]`, `alpha|white-edits`, `--top/--bottom PX`) give two command lines: the
minimal one (optional parts left out) and the full one (every optional part, first alternatives).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
INLINE = re.compile(r"`(unclip [a-z][^`]*)`")
ENV_ASSIGNMENT = re.compile(r"^[A-Z][A-Z0-9_]*=\S*$")


@dataclass(frozen=True)
class DocCommand:
    where: str  # "docs/SERVER.md:17"
    text: str  # the line as shown (continuations joined)
    argv: tuple[str, ...]  # after `unclip`
    env: tuple[tuple[str, str], ...] = ()  # VAR=value prefixes
    variant: str = "as written"  # or "minimal" / "full" for synopses

    @property
    def id(self) -> str:
        return f"{self.where}:{self.variant}:{' '.join(self.argv)[:60]}"


def command_names() -> set[str]:
    from unclip.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices)  # type: ignore[arg-type]


def _logical_lines(block: list[tuple[int, str]]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in block:
        if pending is not None:
            pending = (pending[0], pending[1] + " " + line.strip())
        else:
            pending = (number, line.strip())
        if pending[1].endswith("\\"):
            pending = (pending[0], pending[1][:-1].rstrip())
            continue
        out.append(pending)
        pending = None
    if pending is not None:
        out.append(pending)
    return out


def _strip_comment(line: str) -> str:
    """Drop a trailing `# comment` (outside quotes)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line


def _unclip_argv(segment: str, names: set[str]) -> tuple[list[str], list[tuple[str, str]]] | None:
    """The argv after `unclip` (or after `-m unclip.cli.main`), and env assignments; None if not one."""
    if "-m unclip.cli.main " in segment:
        segment = "unclip " + segment.split("-m unclip.cli.main ", 1)[1]
    words = segment.split()
    env = []
    while words and ENV_ASSIGNMENT.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env.append((name, value))
    if len(words) < 2 or words[0] != "unclip" or words[1] not in names:
        return None
    rest = segment[segment.index("unclip ") + len("unclip ") :]
    return _split(rest), env


def _split(text: str) -> list[str]:
    # shlex keeps brackets; quotes are removed as a shell would
    return shlex.split(text)


def _is_mention(argv: list[str]) -> bool:
    """`unclip train`, `unclip embed --hidden`, `unclip train ... --resume`: a mention, not a command line."""
    if "..." in argv:
        return True
    from unclip.cli.main import build_parser  # noqa: F401 - names only

    words = [a for a in argv if not a.startswith("-")]
    flags_only = all(a.startswith("-") for a in argv[len(_command_words(argv)) :])
    return flags_only or not words


def _command_words(argv: list[str]) -> list[str]:
    """Leading words naming the command and its subcommand (`train export`, `data photos`)."""
    from unclip.cli.main import build_parser

    words: list[str] = []
    parser = build_parser()
    for word in argv:
        sub = next((a for a in parser._actions if a.nargs == "A..."), None)
        if sub is None or word not in sub.choices:  # type: ignore[operator]
            break
        words.append(word)
        parser = sub.choices[word]  # type: ignore[index]
    return words


def _is_synopsis(argv: list[str]) -> bool:
    return any("[" in a or "]" in a or ("|" in a) or re.match(r"^--\w+/--\w+$", a) for a in argv)


def _expand(argv: list[str], full: bool) -> list[str]:
    """A synopsis -> a command line: optional `[...]` parts kept (full) or left out, `a|b` -> a,
    `--top/--bottom` -> --top, `X ...` repetition marks dropped."""
    out: list[str] = []
    depth = 0
    for arg in argv:
        opens, closes = arg.count("["), arg.count("]")
        inside = depth > 0 or opens > 0
        depth += opens - closes
        arg = arg.replace("[", "").replace("]", "")
        if (inside and not full) or not arg or arg == "...":
            continue
        if "|" in arg:
            arg = arg.split("|")[0]
        if re.match(r"^--\w+/--\w+$", arg):
            arg = arg.split("/")[0]
        out.append(arg)
    return out


def documented_commands() -> list[DocCommand]:
    names = command_names()
    found: list[DocCommand] = []
    for path in DOC_FILES:
        rel = path.relative_to(ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        block: list[tuple[int, str]] | None = None
        lang = ""
        for number, line in enumerate(lines, 1):
            m = FENCE.match(line.strip())
            if m:
                if block is None:
                    block, lang = [], m.group(1)
                else:
                    if lang in ("", "sh", "bash", "console", "shell"):
                        for start, logical in _logical_lines(block):
                            for segment in _strip_comment(logical).split("&&"):
                                parsed = _unclip_argv(segment.strip(), names)
                                if parsed:
                                    found.extend(_variants(f"{rel}:{start}", segment.strip(), *parsed))
                    block = None
                continue
            if block is not None:
                block.append((number, line))
                continue
            for span in INLINE.findall(line):
                parsed = _unclip_argv(span, names)
                if parsed and not _is_mention(parsed[0]):
                    found.extend(_variants(f"{rel}:{number}", span, *parsed))
    return found


def _variants(where: str, text: str, argv: list[str], env: list[tuple[str, str]]) -> list[DocCommand]:
    if not _is_synopsis(argv):
        return [DocCommand(where, text, tuple(argv), tuple(env))]
    return [
        DocCommand(where, text, tuple(_expand(argv, full=False)), tuple(env), "minimal"),
        DocCommand(where, text, tuple(_expand(argv, full=True)), tuple(env), "full"),
    ]
