"""The public surface of alstrial.domain.randomization, which the capture services code against."""

from __future__ import annotations

import inspect

import alstrial.domain.randomization as randomization
from alstrial.errors import AlstrialError


def test_exported_names_are_sorted_and_importable():
    assert randomization.__all__ == sorted(randomization.__all__, key=lambda n: (not n.isupper(), n))
    for name in randomization.__all__:
        assert hasattr(randomization, name), name


def test_agreed_names_and_signatures_exist():
    gen = inspect.signature(randomization.generate_block_list)
    assert list(gen.parameters)[:2] == ["arms", "strata"]
    for kw in ("per_stratum", "seed", "block_multiples"):
        assert gen.parameters[kw].kind is inspect.Parameter.KEYWORD_ONLY
    assert gen.parameters["block_multiples"].default == (1, 2, 3)
    mini = inspect.signature(randomization.Minimizer)
    for kw in ("p", "weights", "seed"):
        assert mini.parameters[kw].kind is inspect.Parameter.KEYWORD_ONLY
    assert mini.parameters["p"].default == 0.8
    for method in ("next_entry", "to_frame", "for_stratum", "from_frame"):
        assert callable(getattr(randomization.AllocationList, method))
    for method in ("assign", "from_history", "decide", "record"):
        assert callable(getattr(randomization.Minimizer, method))
    for fn in ("balance_report", "stratum_key", "parse_stratum_key", "all_strata"):
        assert callable(getattr(randomization, fn))


def test_errors_belong_to_the_project_tree():
    for err in (
        randomization.RandomizationError,
        randomization.AllocationListExhausted,
        randomization.UnknownStratum,
        randomization.InvalidRandomizationSpec,
    ):
        assert issubclass(err, AlstrialError)


def test_domain_code_imports_no_database_or_web_layer():
    import ast
    from pathlib import Path

    root = Path(randomization.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                for name in names:
                    assert not name.startswith(
                        ("sqlalchemy", "fastapi", "alstrial.store", "alstrial.web", "alstrial.services")
                    ), (path.name, name)
