"""The package's import graph: no cycles, and the maths modules pull in no display code."""
import json
import subprocess
import sys

from dlcourse import sources

MATHS = ["info", "losses", "superclass", "iic", "ssl", "flows", "autoencoders", "ctaugment",
         "augment", "metrics", "models", "train", "data", "config", "sources", "loop", "runcache"]


def test_maths_modules_import_no_display_code():
    """In a fresh interpreter: import every maths module, then look for matplotlib/ipywidgets."""
    code = ("import json, sys\n"
            f"for name in {MATHS!r}:\n"
            "    __import__('dlcourse.' + name)\n"
            "print(json.dumps(sorted(m for m in sys.modules\n"
            "      if m.split('.')[0] in ('matplotlib', 'ipywidgets'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_module_imports_in_a_fresh_interpreter():
    names = [n for n in sources.module_names() if n != "__init__"]
    code = "".join(f"import dlcourse.{n}\n" for n in names)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _graph():
    return {name: sources.imported_modules(
                (sources.ROOT / f"{name}.py").read_text(encoding="utf-8"), package_relative=True)
            - {"__init__", name}
            for name in sources.module_names()}


def test_no_import_cycle():
    """Every import counts, also those inside functions (they run when the function does)."""
    graph, state, cycles = _graph(), {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_cycle_detector_can_fail(monkeypatch):
    graph = _graph()
    graph["info"] = graph["info"] | {"widgets"}  # widgets imports info: a cycle
    monkeypatch.setattr(sys.modules[__name__], "_graph", lambda: graph)
    try:
        test_no_import_cycle()
    except AssertionError:
        return
    raise AssertionError("a cycle went unnoticed")


def test_explorers_live_in_explore_and_are_found_under_their_former_module():
    """Pages executed before the move call ``iic.objective_explorer``: the same function, and the
    maths module does not define it (its source shows no display code)."""
    import inspect

    from dlcourse import autoencoders, explore, flows, iic, ssl, superclass, widgets
    for module, name in ((iic, "objective_explorer"), (ssl, "sharpening_explorer"),
                         (superclass, "superclass_explorer"), (flows, "coupling_explorer"),
                         (autoencoders, "lambda_explorer"), (widgets, "focal_explorer"),
                         (widgets, "effective_number_explorer"), (widgets, "joint_explorer")):
        assert getattr(module, name) is getattr(explore, name)
        assert inspect.getmodule(getattr(explore, name)).__name__.startswith("dlcourse.explore.")
        assert "ipywidgets" not in inspect.getsource(module) or module is widgets
    try:
        iic.no_such_explorer
    except AttributeError as err:
        assert "no_such_explorer" in str(err)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
