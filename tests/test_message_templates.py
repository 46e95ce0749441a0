"""Every message a user reads is a template with values (common.md, issue 20 item 2), so the
catalogs can say it in the user's language:

- no error is raised with a text built by an f-string, a concatenation or a .format() of a literal;
- a core refusal (core.messages.TextError) is raised with an N_-marked template (or a constant
  holding one), never a bare literal the catalogs cannot see;
- _(), ngettext() and N_() get literals, never an f-string or a concatenation;
- st.error / warning / info / success / toast / caption / markdown never get an f-string literal.

Parsed with ast over core/, api/, dashboard/ and pages/. What may stay is listed below with its
reason; nothing else.
"""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from core.messages import TextError
from tests.conftest import ROOT

FOLDERS = ("core", "api", "dashboard", "pages")
SHOWN = {"error", "warning", "info", "success", "toast", "caption", "markdown"}
MARKERS = {"_", "ngettext", "N_"}

# (file, what is raised): why its text may be built in place. Only texts no dashboard user reads.
BUILT_TEXTS_ALLOWED = {
    ("core/config.py", "ConfigError"): "a setting the operator wrote, said at start-up in the terminal or the log, "
                                       "before any user or language exists (English, as the CLI and the logs)",
    ("core/accounts.py", "ConfigError"): "the same: the first admin cannot be made from ADMIN_USERNAME/ADMIN_PASSWORD",
    ("core/backup.py", "BackupError"): "backup and restore are command-line only; the CLI speaks English",
    ("core/cli.py", "argparse.ArgumentTypeError"): "argparse's own refusal of a command-line value, printed by "
                                                   "argparse (English, as every CLI message)",
    ("core/accounts.py", "ValueError"): "a programmer's mistake (a session kind the code passes), never a user's input",
    ("core/tokens.py", "ValueError"): "a programmer's mistake (a token kind the code passes), never a user's input",
    ("core/definitions.py", "ValueError"): "a programmer's mistake (a status or a period the code builds); the "
                                           "dashboard checks the period first, the CLI shows it in English",
    ("core/indicators.py", "ValueError"): "a programmer's mistake (a sort key or a grain not in the code's lists); "
                                          "the API's enums and the pages' choices offer only valid ones, the CLI "
                                          "shows it in English",
}


def _files(folders=FOLDERS) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _built(node: ast.AST) -> str | None:
    """How a text is built in place, if it is: an f-string, a concatenation, %, or .format() of a literal."""
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return "a concatenation"
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
            and isinstance(node.func.value, (ast.Constant, ast.JoinedStr))):
        return "a .format() of a literal"
    return None


def _name(func: ast.AST) -> str:
    return ast.unparse(func)


def built_texts(source: str, path: str) -> list[str]:
    """Where `source` raises an error, marks a text or writes to the page with a text built in place."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            raised = _name(node.exc.func)
            for arg in [*node.exc.args, *(k.value for k in node.exc.keywords)]:
                how = _built(arg)
                if how and (path, raised) not in BUILT_TEXTS_ALLOWED:
                    found.append(f"{path}:{node.lineno}: {raised} raised with {how}")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in MARKERS:
                found += [f"{path}:{node.lineno}: {name}() given {how}" for arg in node.args if (how := _built(arg))]
            elif (isinstance(func, ast.Attribute) and name in SHOWN and node.args
                  and isinstance(node.args[0], ast.JoinedStr)):
                found.append(f"{path}:{node.lineno}: {_name(func)}() given an f-string")
    return found


def test_no_message_is_built_in_place():
    found = [hit for path in _files() for hit in built_texts(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == [], "make it a template with values: core: SomeError(N_(template), **values); dashboard: _()"


def test_the_check_sees_each_way_of_building_a_text():
    source = '''
raise RecordError(f"There is no customer {id}.")
raise RecordError("Customer " + str(id) + " is gone.")
raise RecordError("Customer %s is gone." % id)
raise RecordError("Customer {id} is gone.".format(id=id))
st.error(f"Customer {id} is gone.")
c1.warning(f"Customer {id} is gone.")
_(f"Customer {id}")
ngettext("one " + "service", "services", n)
N_("Customer " + "gone")
raise RecordError(N_("There is no customer {id}."), id=id)
st.error(_("There is no customer {id}.").format(id=id))
'''
    assert [hit.split(": ", 1)[1] for hit in built_texts(source, "core/example.py")] == [
        "RecordError raised with an f-string", "RecordError raised with a concatenation",
        "RecordError raised with a concatenation", "RecordError raised with a .format() of a literal",
        "st.error() given an f-string", "c1.warning() given an f-string", "_() given an f-string",
        "ngettext() given a concatenation", "N_() given a concatenation"]


def test_every_allowed_exception_is_still_needed():
    """An allow-list entry whose file no longer builds such a text goes (the list says what is)."""
    used = set()
    for path in _files():
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                if any(_built(a) for a in [*node.exc.args, *(k.value for k in node.exc.keywords)]):
                    used.add((rel, _name(node.exc.func)))
    assert sorted(set(BUILT_TEXTS_ALLOWED) - used) == []


# --- core's refusals carry their template for the catalogs ------------------------------------------

def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def bare_refusals(path: Path) -> list[str]:
    """Where a module raises a TextError with a literal text not marked N_ (the catalogs never see it,
    so the dashboard would show it in English)."""
    module = importlib.import_module(_module_name(path))
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args):
            continue
        try:
            raised = eval(compile(ast.Expression(node.exc.func), str(path), "eval"), vars(module))  # noqa: S307
        except Exception:  # a name bound inside the function (e.g. a class chosen at run time)
            continue
        first = node.exc.args[0]
        if (isinstance(raised, type) and issubclass(raised, TextError)
                and isinstance(first, ast.Constant) and isinstance(first.value, str)):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {_name(node.exc.func)}({first.value[:40]!r}...)")
    return found


def test_core_refusals_are_raised_with_marked_templates():
    found = [hit for path in _files(("core", "api")) if path.name != "__main__.py" for hit in bare_refusals(path)]
    assert found == [], "wrap the template in N_() so `make catalogs` extracts it"


def test_the_refusal_check_sees_an_unmarked_template(tmp_path, monkeypatch):
    package = tmp_path / "refusal_example"
    package.mkdir()
    (package / "__init__.py").write_text("")
    module = package / "errors.py"
    module.write_text("from core.records import RecordError, N_\n\n"
                      "def refuse():\n    raise RecordError('The offset cannot be negative.')\n\n"
                      "def refuse_marked():\n    raise RecordError(N_('The offset cannot be negative.'))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr("tests.test_message_templates.ROOT", tmp_path)
    assert bare_refusals(module) == [f"refusal_example/errors.py:4: RecordError('The offset cannot be negative.'...)"]


# --- what each refusal means to the API and the CLI -----------------------------------------------

def _subclasses(cls: type) -> list[type]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


@pytest.fixture(scope="module")
def every_core_error():
    for path in _files(("core",)):
        if path.name != "__main__.py":
            importlib.import_module(_module_name(path))
    return [cls for cls in _subclasses(TextError) if cls.__module__.startswith("core.")]


def test_every_core_refusal_says_its_http_status_and_exit_code(every_core_error):
    from core import accounts, loading, records, throttle

    assert len(every_core_error) > 15
    assert all(400 <= cls.http_status < 500 and cls.exit_code == 2 for cls in every_core_error)
    assert {cls.__name__: cls.http_status for cls in every_core_error if cls.http_status != 422} == {
        "UsernameTaken": 409, "PermissionDenied": 403, "LoginFailed": 401, "PasswordChangeRequired": 403,
        "Throttled": 429, "NotFound": 404, "IdTaken": 409, "EmailTaken": 409, "FarVisit": 409,
        "CustomerHasServices": 409, "StubNeedsName": 409, "FileTooLarge": 413, "LoadNotFound": 404}
    assert (records.RecordError.http_status, loading.FileRefused.http_status, accounts.AccountError.http_status,
            throttle.Throttled.http_status) == (422, 422, 422, 429)
