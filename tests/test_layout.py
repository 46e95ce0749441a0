"""Architecture rules that a test can check."""
import ast
from pathlib import Path

import pytest

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


def _first_statement(path: Path) -> ast.stmt:
    """The first statement of a script after its docstring and imports."""
    body = ast.parse(path.read_text()).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return next(node for node in body if not isinstance(node, (ast.Import, ast.ImportFrom)))


def _calls_require_role(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "require_role" and len(call.args) == 1)


def test_every_page_checks_the_role_first():
    pages = sorted((ROOT / "pages").glob("*.py"))
    assert pages
    late = [p.name for p in pages if not _calls_require_role(_first_statement(p))]
    assert late == []


def test_the_role_check_test_sees_a_late_check(tmp_path):
    page = tmp_path / "page.py"
    page.write_text('"""A page."""\nimport streamlit as st\n\nst.title("Secret")\nactor = require_role("admin")\n')
    assert not _calls_require_role(_first_statement(page))
    page.write_text('"""A page."""\nimport streamlit as st\n\nactor = require_role("admin")\nst.title("Secret")\n')
    assert _calls_require_role(_first_statement(page))


def _python_files() -> list[Path]:
    return [p for d in ("core", "dashboard", "pages", "api", "bench", "scripts", "tests")
            for p in (ROOT / d).rglob("*.py")]


def test_no_private_name_is_imported_from_another_package():
    offenders = []
    for path in _python_files():
        package = path.relative_to(ROOT).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] != package:
                offenders += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.startswith("__")
                              and a.name != "_"]  # gettext's _() is a convention, not a private name
    assert offenders == []


def _state_keys(path: Path) -> list[str]:
    """The session-state keys a script names: widget `key=` arguments and session_state[...], .get,
    .pop, .setdefault. f-string placeholders read as `{}`."""
    def text(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        return None

    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.keyword) and node.arg == "key":
            found.append(text(node.value))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value).endswith("session_state"):
            found.append(text(node.slice))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
              and node.func.attr in ("get", "pop", "setdefault")
              and ast.unparse(node.func.value).endswith("session_state")):
            found.append(text(node.args[0]))
    return [k for k in found if k is not None]


# Keys that streamlit-authenticator owns.
_LIBRARY_KEYS = {"authentication_status", "username"}


def test_session_state_keys_are_snake_case_and_start_with_their_page():
    offenders = []
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "dashboard").glob("*.py")]:
        for key in _state_keys(path):
            words = key.replace("{}", "x")
            if key in _LIBRARY_KEYS or key.startswith("{}"):  # built on the caller's prefix
                ok = key in _LIBRARY_KEYS or words == words.lower() and "-" not in words
            else:
                ok = words == words.lower() and "-" not in words and " " not in words and (
                    path.parent.name != "pages" or key.startswith(path.stem + "_") or key == path.stem)
            if not ok:
                offenders.append(f"{path.relative_to(ROOT)}: {key}")
    assert offenders == []


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


# Parameters that carry a setting (HOLIDAY_COUNTRY, PASSWORD_HASH_ROUNDS, and `as_of`: the day statuses
# are judged by, TIMEZONE's today): a default there would be a second, silent copy of the setting's
# default (for as_of, the server's date instead of the operation's).
_SETTING_PARAMETERS = {"country", "rounds", "as_of"}


def test_no_core_function_defaults_a_setting():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                args = node.args
                positional = args.posonlyargs + args.args
                defaulted = positional[len(positional) - len(args.defaults):] + [
                    a for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
                offenders += [f"{path.relative_to(ROOT)}: {node.name}({a.arg}=...)" for a in defaulted
                              if a.arg in _SETTING_PARAMETERS]
    assert offenders == []


# What a core function acts with comes first; everything else by keyword (records' convention).
_CONTEXT = {"conn", "engine", "settings"}


def test_core_functions_take_their_connection_or_settings_first_and_the_rest_by_keyword():
    offenders = []
    for path in (ROOT / "core").rglob("*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                positional = [a.arg for a in node.args.posonlyargs + node.args.args]
                if positional and positional[0] in _CONTEXT and len(positional) > 1:
                    offenders.append(f"{path.relative_to(ROOT)}: {node.name}({', '.join(positional)})")
    assert offenders == []


# The one source of "today": core.operation_day.today(settings), the date in the operation's time zone
# (TIMEZONE). The server's clock read as a local date or time would be another day between 21:00 and
# midnight in Sao Paulo on a server in UTC.
def _server_today(source: str) -> list[int]:
    """Lines that read the server's local date or time: date.today(), datetime.today(), utcnow(), and
    datetime.now() without a time zone (under any module prefix: datetime.date.today()...)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, name = ast.unparse(node.func.value).split(".")[-1], node.func.attr
            if ((name == "today" and owner in ("date", "datetime")) or name == "utcnow"
                    or (name == "now" and owner == "datetime" and not node.args and not node.keywords)):
                lines.append(node.lineno)
    return lines


def test_today_is_the_operations_day_everywhere():
    offenders = [f"{p.relative_to(ROOT)}:{line}" for d in ("core", "api", "dashboard", "pages")
                 for p in (ROOT / d).rglob("*.py") for line in _server_today(p.read_text())]
    assert offenders == [], "use core.operation_day.today(settings) (or a moment with its time zone)"


def test_the_today_check_sees_the_servers_date():
    assert _server_today("import datetime\nfrom datetime import date, datetime as dt\n"
                         "a = date.today()\nb = datetime.now()\nc = datetime.now(timezone.utc)\n"
                         "d = datetime.datetime.utcnow()\ne = _dt.date.today()\n") == [3, 4, 6, 7]
