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
