"""The import graph of `src/digitrec` against docs/architecture.md: no cycle among modules, and
no module importing from a layer above its own. Every import counts (inside functions too, and a
package's `__init__.pyi`, whose names lazy_loader imports on first use), except those under
`if TYPE_CHECKING:`, which never run."""

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "digitrec"


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of the tree but those inside `if TYPE_CHECKING:` blocks."""
    kept: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        kept.append(node)
        pending.extend(ast.iter_child_nodes(node))
    return kept


def import_graph() -> dict[str, set[str]]:
    """module -> the digitrec modules it imports (a package when a name is not a module)."""
    known = modules()

    def resolve(name: str) -> str:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        return name

    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        stub = path.with_suffix(".pyi")
        source = path.read_text() + ("\n" + stub.read_text() if stub.exists() else "")
        for node in _runtime_nodes(ast.parse(source)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
            for target in targets:
                if target == "digitrec" or target.startswith("digitrec."):
                    graph[name].add(resolve(target))
        graph[name].discard(name)
    return graph


def layers() -> dict[str, int]:
    """The table of docs/architecture.md: top-level module or package -> its layer."""
    text = (REPO / "docs" / "architecture.md").read_text()
    table: dict[str, int] = {}
    for number, names in re.findall(r"^\|\s*(\d+)\s*\|([^|]+)\|", text, flags=re.M):
        for module in re.findall(r"`([\w_]+)`", names):
            table[module] = int(number)
    return table


def test_the_layer_table_names_every_top_level_module() -> None:
    top = {name.split(".")[1] for name in modules() if name != "digitrec"}
    assert top == set(layers()), (
        f"docs/architecture.md is missing or names extra: {top ^ set(layers())}"
    )


def test_no_import_cycle() -> None:
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == [], f"import cycles: {cycles}"


def test_no_import_reaches_a_layer_above() -> None:
    table = layers()

    def layer(module: str) -> int | None:
        parts = module.split(".")
        return table[parts[1]] if len(parts) > 1 else None  # the root: allowed from anywhere

    upward = [
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if (a := layer(source)) is not None and (b := layer(target)) is not None and b > a
    ]
    assert upward == [], "imports from a higher layer (docs/architecture.md):\n" + "\n".join(upward)


def test_the_walk_sees_what_it_must() -> None:
    """The checks above are only as good as the graph: a few edges known to exist are in it,
    and the one import under TYPE_CHECKING is not."""
    graph = import_graph()
    assert "digitrec.models.modelfile" in graph["digitrec.models.loading"]
    assert "digitrec.export.runtime" in graph["digitrec.export.validation"]  # inside a module
    assert "digitrec.train.baseline_run" in graph["digitrec.train.loop"]  # inside a function
    assert "digitrec.report.comparison" not in graph["digitrec.report.comparison_document"]
    assert "digitrec.report.comparison_document" in graph["digitrec.report.comparison"]
    assert "digitrec.train.loop" in graph["digitrec.train"]  # from its __init__.pyi


LAZY = sorted(p.parent.name for p in PACKAGE.glob("*/__init__.pyi"))


@pytest.mark.parametrize("package", LAZY)
def test_every_lazy_name_resolves(package: str) -> None:
    """A package's __init__.pyi is what lazy_loader imports from and what mypy types: each name
    it lists must resolve at run time to the object it names."""
    module = importlib.import_module(f"digitrec.{package}")
    assert module.__all__ and sorted(module.__all__) == sorted(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name
