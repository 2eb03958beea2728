"""The floors of the house: no upward import, no import circle, no SQL in handlers.

Floors, lowest first: the ground floor (``ground``: config, storage, clock, logs, calendars,
vocabulary); knowledge and routing; handlers; the application (``bot``: command line,
composition root, channels, dashboard). Every import counts, including those inside
functions and under ``TYPE_CHECKING``: a type is a dependency too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("ground", "knowledge", "routing", "handlers", "bot")
FLOORS = (("ground",), ("knowledge", "routing"), ("handlers",), ("bot",))


def floor_of(module: str) -> int:
    """The floor a module stands on: the most specific prefix wins."""
    best, length = -1, -1
    for floor, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = floor, len(prefix)
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(path: Path, module: str, known: set[str]) -> Iterator[str]:
    """The project modules ``path`` imports (``from x import y`` counts y when it is a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                yield name


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: set(imports_of(path, name, known)) for name, path in modules.items()}


def test_no_module_imports_a_higher_floor() -> None:
    upward = sorted(
        f"{module} (floor {floor_of(module)}) imports {target} (floor {floor_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if floor_of(target) > floor_of(module)
    )
    assert not upward, "imports from a higher floor:\n" + "\n".join(upward)


def test_every_module_has_a_floor() -> None:
    assert not [m for m in project_modules() if floor_of(m) < 0]


def test_no_import_circles() -> None:
    graph = import_graph()
    # Package __init__ files re-export their modules; a module importing its own package's
    # public surface is not a circle of design, so edges into a parent package are left out.
    edges = {
        module: {t for t in targets if not module.startswith(t + ".")}
        for module, targets in graph.items()
    }
    circles = [c for c in strongly_connected(edges) if len(c) > 1]
    assert not circles, "import circles:\n" + "\n".join(" <-> ".join(sorted(c)) for c in circles)


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def test_the_checker_sees_an_upward_import_and_a_circle(tmp_path: Path) -> None:
    """The graph reading itself: a known upward import and a known circle are found."""
    assert floor_of("ground.config") == 0 and floor_of("bot.app") == 3
    assert floor_of("routing.triage") == 1 and floor_of("handlers.relay") == 2
    assert strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) != [["c"], ["a", "b"]]
    assert sorted(map(sorted, strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}))) == [
        ["a", "b"],
        ["c"],
    ]
    source = tmp_path / "mod.py"
    source.write_text("def f():\n    from bot.app import Application\n", encoding="utf-8")
    assert set(imports_of(source, "knowledge.mod", {"bot", "bot.app"})) == {"bot.app"}


# What a handler may not do itself: queries and rows belong in repository modules.
SESSION_CALLS = {
    "add",
    "add_all",
    "delete",
    "execute",
    "flush",
    "get",
    "merge",
    "query",
    "scalar",
    "scalars",
}


def queries_in(path: Path) -> Iterator[str]:
    """Where a module runs SQL itself: session calls, and SQLAlchemy's query language imported."""
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        where = f"{shown}:{getattr(node, 'lineno', 0)}"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_CALLS
            and _names_a_session(node.func.value)
        ):
            yield f"{where} calls {ast.unparse(node.func)}"
        elif isinstance(node, ast.ImportFrom) and node.module in ("sqlalchemy", "sqlalchemy.sql"):
            yield f"{where} imports {', '.join(a.name for a in node.names)} from {node.module}"
        elif isinstance(node, ast.Import) and any(a.name == "sqlalchemy" for a in node.names):
            yield f"{where} imports sqlalchemy"


def _names_a_session(value: ast.expr) -> bool:
    name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
    return isinstance(name, str) and name.lower().endswith("session")


def test_handlers_leave_queries_to_repositories() -> None:
    found = [
        place for path in sorted((ROOT / "handlers").rglob("*.py")) for place in queries_in(path)
    ]
    assert not found, "SQL in handlers (move it to a repository module):\n" + "\n".join(found)


def test_the_query_rule_sees_a_session_call_and_a_select(tmp_path: Path) -> None:
    """The rule's reading itself: each way of querying is found, a repository call is not."""
    source = tmp_path / "handler.py"
    source.write_text(
        "from sqlalchemy import select\n"
        "def f(turn, session):\n"
        "    turn.session.get(Question, 1)\n"
        "    session.add(row)\n"
        "    turn.session.scalars(select(Question))\n"
        "    repo.get_question(turn.session, 1)\n"
        "    turn.reply('get')\n",
        encoding="utf-8",
    )
    found = [line.split(" ", 1)[1] for line in queries_in(source)]
    assert sorted(found) == [
        "calls session.add",
        "calls turn.session.get",
        "calls turn.session.scalars",
        "imports select from sqlalchemy",
    ]
