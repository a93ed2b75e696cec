"""No code from data: nothing in the package can unpickle, eval or exec what it reads."""

from __future__ import annotations

import ast
from pathlib import Path

import fraudcli

FORBIDDEN_MODULES = {"pickle", "cPickle", "dill", "marshal", "shelve", "joblib", "cloudpickle"}
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "read_pickle", "load_pickle"}


def offences(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                found.append(node.module)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if isinstance(node.func, ast.Name) and name in FORBIDDEN_CALLS:
                found.append(f"{name}()")
            elif isinstance(node.func, ast.Attribute) and name in {"read_pickle", "load_pickle"}:
                found.append(f".{name}()")
            found += [f"{k.arg}=" for k in node.keywords if k.arg == "allow_pickle"]
    return found


def test_the_check_finds_what_it_looks_for():
    assert offences("import pickle\nfrom marshal import loads\neval('1')\n") == [
        "pickle",
        "marshal",
        "eval()",
    ]
    assert offences("np.load(f, allow_pickle=True)\npd.read_pickle(p)") == [
        "allow_pickle=",
        ".read_pickle()",
    ]


def test_no_pickle_eval_or_exec_in_the_package():
    root = Path(fraudcli.__file__).parent
    found = {
        str(path.relative_to(root)): hits
        for path in sorted(root.rglob("*.py"))
        if (hits := offences(path.read_text("utf-8")))
    }
    assert found == {}
