"""Architecture rules that a test can check."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_core_never_imports_streamlit():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
                 if {"streamlit", "dashboard", "streamlit_authenticator"} & _imports(p)]
    assert offenders == []


def test_core_never_imports_the_http_layer():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "core").rglob("*.py")
                 if {"fastapi", "starlette", "api"} & _imports(p)]
    assert offenders == []


def test_no_sql_in_the_api():
    markers = ("sa.text(", ".execute(", "exec_driver_sql", "import text", "sqlalchemy import text")
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "api").rglob("*.py")
                 if any(m in p.read_text() for m in markers)]
    assert offenders == []


def test_no_sql_in_pages_or_dashboard():
    markers = ("sa.text(", ".execute(", "exec_driver_sql", "import text")
    offenders = [str(p.relative_to(ROOT)) for d in ("pages", "dashboard") for p in (ROOT / d).rglob("*.py")
                 if any(m in p.read_text() for m in markers)]
    assert offenders == []


def test_every_page_checks_the_role_first():
    for page in (ROOT / "pages").glob("*.py"):
        source = page.read_text()
        assert "require_role(" in source, f"{page.name} does not call require_role"


def _fragments(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) and deco.func.attr == "fragment"
                        and any(k.arg == "run_every" for k in deco.keywords)):
                    yield node


def test_every_timed_fragment_checks_the_role_again_first():
    """A fragment rerun by its timer skips the entrypoint: a demoted user's open tab must stop."""
    found = 0
    for page in (ROOT / "pages").glob("*.py"):
        for fn in _fragments(ast.parse(page.read_text())):
            found += 1
            body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            first = body[0]
            assert (isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
                    and getattr(first.value.func, "id", None) == "recheck_role"), \
                f"{page.name}:{fn.name} does not start with recheck_role(...)"
    assert found >= 2  # Monitoring's panel and Upload's progress
