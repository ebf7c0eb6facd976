"""The layout holds: few modules at the top of engine/ and trainer/, and no import circles.

Function-level imports count (grimp reads every import statement in a module), so a lazy
import that closes a circle fails here as an eager one would.
"""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
MAX_TOP_LEVEL_MODULES = 8


@pytest.mark.parametrize("package", ["engine", "trainer"])
def test_at_most_eight_modules_at_the_top(package):
    top = sorted(p.name for p in (REPO / package).glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    assert all((d / "__init__.py").is_file() for d in (REPO / package).iterdir()
               if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py")))


def strongly_connected(graph) -> list[set[str]]:
    """Tarjan's algorithm over grimp's module graph (iterative: the graph has ~300 modules)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(component)
    return found


def test_no_two_modules_import_each_other_directly_or_in_a_circle():
    graph = grimp.build_graph("engine", "trainer", "gui", cache_dir=None)
    circles = strongly_connected(graph)
    assert circles == [], "import circles: " + "; ".join(" <-> ".join(sorted(c)) for c in circles)


def test_the_circle_finder_finds_a_circle(tmp_path, monkeypatch):
    """The check above can fail: a two-module circle made through a function-level import is found."""
    package = tmp_path / "circlepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from circlepkg import b\n")
    (package / "b.py").write_text("def f():\n    from circlepkg import a\n    return a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("circlepkg", cache_dir=None)
    assert strongly_connected(graph) == [{"circlepkg.a", "circlepkg.b"}]


def test_the_tests_run_alone_are_files_that_exist_and_are_marked(request):
    """``./earmark test`` runs tests/conftest.py's EXCLUSIVE files alone; a renamed file would
    silently join the parallel phase."""
    from tests.conftest import EXCLUSIVE

    missing = sorted(name for name in EXCLUSIVE if not (REPO / name).is_file())
    assert missing == [], f"EXCLUSIVE names files that are gone: {missing}"
    marked = request.session.items if hasattr(request.session, "items") else []
    for item in marked:
        if Path(str(item.path)).relative_to(REPO).as_posix() in EXCLUSIVE:
            assert item.get_closest_marker("exclusive") is not None, item.nodeid
