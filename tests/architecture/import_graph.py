"""The import graph of a Python package, read from source with `ast`: every `import` and `from ... import`
statement, at module level, inside functions and under `if TYPE_CHECKING:` alike (an import hidden in a
function is still a dependency, and the cycles it hides are still cycles).

`layer_violations` checks each import against a table of which top-level subpackages may import which
(docs/ARCHITECTURE.md); `cycles` lists the groups of modules that import each other, directly or round a
loop. Used by tests/architecture/test_layers.py.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "unclip.pipeline.unclip_pipeline"
    target: str  # the imported module (or the package, for a name that is not a module)
    line: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line} imports {self.target}"


def modules(root: Path) -> dict[str, Path]:
    """Module name -> file, for the package in the folder `root` (its name is the folder's)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(root: Path) -> Iterator[Import]:
    """Every import, within the package or not, of every module under `root`."""
    known = modules(root)
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(node, name, path.name == "__init__.py")
                for alias in node.names:
                    sub = f"{target}.{alias.name}"  # `from pkg import module` imports pkg.module
                    yield Import(name, sub if sub in known else target, node.lineno)


def part(module: str, root: str) -> str | None:
    """The top-level subpackage (or module) of `root` that `module` belongs to: "unclip.pipeline.editing.x"
    -> "pipeline"; None for modules outside `root` and for `root` itself."""
    names = module.split(".")
    return names[1] if names[0] == root and len(names) > 1 else None


def layer_violations(root: Path, allowed: Mapping[str, set[str]]) -> list[str]:
    """Imports between top-level parts of the package that `allowed` (part -> the parts it may import)
    does not permit; a part missing from `allowed` is itself a violation (new packages get a rule)."""
    out = []
    for imp in imports(root):
        src, dst = part(imp.source, root.name), part(imp.target, root.name)
        if src is None or dst is None or src == dst:
            continue
        if src not in allowed:
            out.append(f"{imp}: no rule for {src!r} in the layer table")
        elif dst not in allowed[src]:
            out.append(f"{imp}: {src!r} may not import {dst!r}")
    return sorted(set(out))


def cycles(root: Path) -> list[list[str]]:
    """Groups of modules of the package that import each other round a loop (strongly connected
    components of more than one module, or a module importing itself)."""
    known = modules(root)
    graph: dict[str, set[str]] = {m: set() for m in known}
    for imp in imports(root):
        if imp.target in known:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph[v]:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found
