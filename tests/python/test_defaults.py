"""One default per option: every default of a method or metric option is the registry's, and the
command line, the Python package and the docs say the same.

The registries are read through the extension (``whitebox._whitebox.methods()``, ``metrics()``, the
declared fallbacks of the C++ registries); the command line through its help, run from the
binary of WHITEBOX_CLI (set by CTest) or of the build tree the package is imported from; the docs
from docs/. Each check names the file to change and what the registry says.
"""

import ast
import concurrent.futures
import inspect
import os
import re
import subprocess

import pytest

import whitebox

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOCS = os.path.join(ROOT, "docs")
METHODS = {m["name"]: m for m in whitebox._whitebox.methods()}
METRICS = {m["name"]: m for m in whitebox._whitebox.metrics()}


def _doc(name):
    with open(os.path.join(DOCS, name), encoding="utf-8") as f:
        return f.read()


def _declared(metric, option):
    """The registry's default of a metric's option, as text."""
    for o in METRICS[metric]["parameters"]:
        if o["name"] == option:
            return o["default"]
    raise KeyError(f"{metric} declares no option {option}")


def _python_value(option):
    """A declared default as the Python signatures give it: int, float or str by its type."""
    text = option["default"]
    try:
        if option["type"] == "integer":
            return int(text)
        if option["type"] == "number":
            return float(text)
    except ValueError:
        pass
    return text


def _same(text, value):
    """Whether a default written in a doc or a help text is `value` (a number or a string)."""
    text = text.strip().strip("`").replace("\u2212", "-")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            text = ast.literal_eval(text) if text[:1] in "\"'" else text
        except (ValueError, SyntaxError):
            pass
        return str(text) == str(value)
    try:
        return float(text) == float(value)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# The command line


def _cli_binary():
    path = os.environ.get("WHITEBOX_CLI")
    if not path:
        # The build tree the package runs from: <build>/python/whitebox -> <build>/apps/whitebox.
        package = os.path.dirname(os.path.abspath(whitebox.__file__))
        build = os.path.dirname(os.path.dirname(package))
        path = os.path.join(build, "apps", "whitebox", "whitebox")
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


_COMMANDS = {
    "compare": ["compare", "--help"],
    "sanity": ["sanity", "--help"],
    "evaluate": ["evaluate", "--help"],
    "explain": ["explain", "--help"],
    "patterns": ["patterns", "fit", "--help"],
    "markdown": ["methods", "--markdown"],
    "ig": ["methods", "integrated-gradients"],
}


@pytest.fixture(scope="module")
def cli():
    """The output of each command of _COMMANDS (run at once: each starts LibTorch)."""
    binary = _cli_binary()
    if binary is None:
        pytest.skip("no whitebox CLI: set WHITEBOX_CLI or build it beside the package")

    def run(args):
        r = subprocess.run([binary, *args], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"whitebox {' '.join(args)}: {r.stderr}"
        return r.stdout

    with concurrent.futures.ThreadPoolExecutor(len(_COMMANDS)) as pool:
        futures = {name: pool.submit(run, args) for name, args in _COMMANDS.items()}
        return {name: f.result() for name, f in futures.items()}


# `  -m,--method TEXT=saliency,gradcam` or `  --steps INT:INT in [1 - 100000]=50  points ...`: the
# default follows the last `=` of the type, which has no run of two spaces in it.
_HELP_OPTION = re.compile(r"^\s+(?:-\w,)?(--[\w-]+)(?: (?:(?! {2})[^=\n])*)?=(\S+)", re.M)


def _help_defaults(text):
    """{option: default} of the options whose CLI11 help shows a default."""
    return {m.group(1): m.group(2) for m in _HELP_OPTION.finditer(text)}


def test_compare_curves_have_the_deletion_metrics_defaults(cli):
    shown = _help_defaults(cli["compare"])
    # The curves' steps are --curve-steps: not to be taken for integrated gradients' steps.
    for option, flag in (("steps", "--curve-steps"), ("substitution", "--substitution"),
                         ("batch", "--batch")):
        # The report's two curves are deletion's and insertion's, which declare the same options.
        assert _declared("insertion", option) == _declared("deletion", option)
        assert shown.get(flag) == _declared("deletion", option), (
            f"whitebox compare {flag} shows {shown.get(flag)!r}; the deletion "
            f"metric declares {_declared('deletion', option)!r} (apps/whitebox/compare.cpp)")


def test_sanity_methods_are_one_constant(cli):
    shown = _help_defaults(cli["sanity"])
    constant = whitebox._whitebox.sanity_methods
    assert shown["--method"] == constant
    assert inspect.signature(whitebox.sanity).parameters["methods"].default == constant
    # The other options of the test: the command line's and Python's the same.
    python = inspect.signature(whitebox.sanity).parameters
    for option in ("mode", "layers", "seed", "smooth"):
        assert _same(shown["--" + option], python[option].default), (
            f"whitebox sanity --{option} defaults to {shown['--' + option]}, whitebox.sanity's "
            f"{option} to {python[option].default!r}")


def test_python_calls_share_the_command_lines_defaults(cli):
    """The Python calls that mirror a command take its defaults."""
    pairs = [(whitebox.overlay, cli["explain"], {"alpha": "--alpha", "percentile": "--percentile"}),
             (whitebox.Model.fit_patterns, cli["patterns"], {"estimator": "--estimator"})]
    if hasattr(whitebox, "report"):
        pairs.append((whitebox.report, cli["compare"],
                      {"methods": "--method", "path": "--report", "alpha": "--alpha",
                       "steps": "--curve-steps", "substitution": "--substitution", "batch": "--batch"}))
    if hasattr(whitebox, "evaluate"):
        pairs.append((whitebox.evaluate, cli["evaluate"],
                      {"methods": "--method", "metrics": "--metric"}))
    for function, help_text, options in pairs:
        shown = _help_defaults(help_text)
        parameters = inspect.signature(function).parameters
        for name, option in options.items():
            default = parameters[name].default
            if isinstance(default, (list, tuple)):
                default = ",".join(default)
            assert _same(shown[option], default), (
                f"{function.__qualname__}({name}={default!r}) but the command line's {option} "
                f"defaults to {shown[option]}")


def _markdown_parameters(markdown):
    """{method: [(parameter, default)]} from the tables of `whitebox methods --markdown`."""
    tables, method = {}, None
    for line in markdown.splitlines():
        heading = re.match(r"### (\S+)$", line)
        if heading:
            method = heading.group(1)
            tables[method] = []
        row = re.match(r"\| `([^`]+)` \| (?:`([^`]*)`|none) \|", line)
        if row and method:
            tables[method].append((row.group(1), row.group(2) or ""))
    return tables


def test_methods_command_shows_the_registry_defaults(cli):
    tables = _markdown_parameters(cli["markdown"])
    for name, method in METHODS.items():
        assert tables.get(name) == [(h["name"], h["default"]) for h in method["hyperparameters"]], (
            f"`whitebox methods --markdown` shows other hyper-parameters for {name}")
    # The terminal form of one method: NAME=DEFAULT per hyper-parameter.
    for h in METHODS["integrated-gradients"]["hyperparameters"]:
        assert re.search(rf"^  {re.escape(h['name'])}={re.escape(h['default'])}(\s|$)",
                         cli["ig"], re.M), h


def test_methods_doc_is_the_registrys(cli):
    assert _doc("methods.md") == cli["markdown"], (
        "docs/methods.md is not the registry's: regenerate it with "
        "`build/apps/whitebox/whitebox methods --markdown > docs/methods.md`")


# `(default 8)`, `(default `a,b`)`, `(224 by default)` or `(32)` after an option of the command,
# in a sentence or in the row of a table of options; `(default: all)` says something else and is
# left alone, and so is a value written with the option (`--steps 50`: an example).
_GAP = r"`(--[a-z-]+)[^`]*`[^`\n(]{0,80}"
_DOC_OPTION_DEFAULTS = [
    re.compile(_GAP + r"\(default (?:`([^`]+)`|([^`\s:;),]+))[:;),]"),
    re.compile(_GAP + r"\((?:`([^`]+)`|([^`\s:;),]+)) by default\)"),
    re.compile(_GAP + r"\((\d[\d.]*)()[:;)]"),
    re.compile(r"`(--[a-z-]+)`, `([^`]+)`() by default"),
    re.compile(r"^\| `(--[a-z-]+)[^`]*` \| `([^`]+)`() \(default\)", re.M),
]


@pytest.mark.parametrize("doc, command", [("sanity.md", "sanity"), ("report.md", "compare"),
                                          ("metrics.md", "evaluate")])
def test_docs_state_the_command_lines_defaults(cli, doc, command):
    shown = _help_defaults(cli[command])
    text, checked = _doc(doc), 0
    for pattern in _DOC_OPTION_DEFAULTS:
        for m in pattern.finditer(text):
            option, value = m.group(1), m.group(2) or m.group(3)
            if option not in shown:
                continue
            line = text.count("\n", 0, m.start()) + 1
            assert _same(value, shown[option]), (
                f"docs/{doc}:{line} gives {option} the default {value}; `whitebox {command} "
                f"--help` shows {shown[option]}")
            checked += 1
    assert checked > 0, f"docs/{doc} states no default of `whitebox {command}`"


# ---------------------------------------------------------------------------------------------
# Python


def _metric_function(name):
    return getattr(whitebox.metrics, name.replace("-", "_"))


def test_metric_signatures_have_the_registry_defaults():
    for name, metric in METRICS.items():
        if metric["over_dataset"]:
            continue
        function = _metric_function(name)
        parameters = inspect.signature(function).parameters
        options = [p for p in parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
                   and p.name not in ("return_curve", "progress")]
        assert [p.name for p in options] == [o["name"] for o in metric["parameters"]], name
        for option in metric["parameters"]:
            default = parameters[option["name"]].default
            assert default == _python_value(option) and type(default) is type(
                _python_value(option)), (
                f"whitebox.metrics.{function.__name__}({option['name']}={default!r}) but the "
                f"registry declares {option['default']!r}")
            assert f"{option['name']}: " in function.__doc__
            assert f"default {option['default']})" in function.__doc__, (name, option["name"])


def test_metric_info_is_the_registry():
    for name, metric in METRICS.items():
        assert whitebox.metrics.info(name)["parameters"] == metric["parameters"]


def test_sanity_default_methods_are_the_constant():
    assert inspect.signature(whitebox.sanity).parameters["methods"].default == \
        whitebox._whitebox.sanity_methods


# ---------------------------------------------------------------------------------------------
# The docs


def _options_table(text):
    """The rows of docs/metrics.md's table of metric options: [(metrics, [(option, default)])]."""
    start = text.find("| metric | options (default) |")
    assert start >= 0, "docs/metrics.md has no table `| metric | options (default) |`"
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        names, options = line.strip("|").split(" | ")
        rows.append((re.findall(r"`([^`]+)`", names),
                     [(m.group(1), m.group(2) or "")
                      for m in re.finditer(r"`([\w.]+)(?:=([^`]*))?`", options)]))
    return rows


def _expected_options_table():
    rows, none = [], []
    for name, metric in METRICS.items():
        options = [(o["name"], o["default"]) for o in metric["parameters"]]
        if not options:
            none.append(name)
        elif rows and rows[-1][1] == options:
            rows[-1][0].append(name)
        else:
            rows.append(([name], options))
    lines = ["| metric | options (default) |", "| --- | --- |"]
    for names, options in rows:
        cells = ", ".join(f"`{k}={v}`" if v else f"`{k}` (none)" for k, v in options)
        lines.append("| " + ", ".join(f"`{n}`" for n in names) + " | " + cells + " |")
    lines.append("| " + ", ".join(f"`{n}`" for n in none) + " | none |")
    return "\n".join(lines)


def test_metrics_doc_lists_every_option_with_the_registrys_default():
    rows = _options_table(_doc("metrics.md"))
    expected = _expected_options_table()
    seen = set()
    for names, options in rows:
        for name in names:
            assert name in METRICS, f"docs/metrics.md lists options of an unknown metric {name}"
            assert name not in seen, f"docs/metrics.md lists {name}'s options twice"
            seen.add(name)
            declared = [(o["name"], o["default"]) for o in METRICS[name]["parameters"]]
            assert options == declared, (
                f"docs/metrics.md gives {name} the options {options}, the registry declares "
                f"{declared}; the table from the registry:\n{expected}")
    assert seen == set(METRICS), (f"docs/metrics.md's options table leaves out "
                                  f"{sorted(set(METRICS) - seen)}; from the registry:\n{expected}")


_NUMBER = r"([\u2212-]?\d[\d.]*(?:e[\u2212-]?\d+)?)(?![\d.])"
# `samples` (100), `region` 32 px, `blur_sigma`, 5 px, `steps` (224 by default), `steps` (default
# 8), `step` pixels (default 2), `shift` c, default −1.
_PROSE_DEFAULTS = [re.compile(r"`([a-z_]+)`[ ,=(]*(?:default )?" + _NUMBER),
                   re.compile(r"`([a-z_]+)` \w+[ ,(]+default " + _NUMBER)]


def _mentioned(text):
    """The metrics a heading, a table row's first cell or a paragraph names."""
    text = text.lower()
    return {name for name in METRICS
            if re.search(r"(?<![\w-])" + re.escape(name) + r"(?![\w])", text)
            or re.search(r"(?<![\w-])" + re.escape(name.replace("-", " ")) + r"(?![\w])", text)}


def test_metrics_prose_states_the_registrys_defaults():
    """A number written after a metric option in docs/metrics.md's text is that option's default
    for the metrics that the paragraph or table row is about (else for those of its section's
    group); mentions that none of them declares are left alone."""
    text = _doc("metrics.md")
    text = text[:text.find("| metric | options (default) |")]  # the table has its own test
    checked, group, heading = 0, set(), ""
    for block in re.split(r"\n\s*\n", text):
        for line in block.splitlines():
            if line.startswith("## "):
                group = {n for n, m in METRICS.items() if m["group"] in line.lower()}
                heading = ""
            elif line.startswith("### "):
                heading = line
        rows = block.splitlines() if block.lstrip().startswith("|") else [block]
        for row in rows:
            context = row.split("|")[1] if row.startswith("|") else heading + "\n" + row
            for pattern in _PROSE_DEFAULTS:
                for m in pattern.finditer(row):
                    option, value = m.group(1), m.group(2)
                    for candidates in (_mentioned(context), group):
                        declared = {o["default"] for n in candidates
                                    for o in METRICS[n]["parameters"]
                                    if o["name"] == option and o["type"] in ("integer", "number")}
                        if declared:
                            break
                    if not declared:
                        continue
                    assert any(_same(value, d) for d in declared), (
                        f"docs/metrics.md: `{option}` {value} in {row[:80]!r}...; the registry "
                        f"declares {option}={' or '.join(sorted(declared))}")
                    checked += 1
    assert checked >= 20


def _calls(text, names):
    """(function name, the text between its parentheses, offset) of each call of `names`."""
    for m in re.finditer(r"(?:whitebox\.)?(?:metrics\.)?\b(" + "|".join(names) + r")\(", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield m.group(1), text[m.end():i - 1], m.start()


def _keywords(arguments):
    """name=value pairs of a call's arguments (commas inside brackets and strings kept)."""
    parts, depth, quote, current = [], 0, None, ""
    for c in arguments:
        if quote:
            quote = None if c == quote else quote
        elif c in "\"'":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += c
    parts.append(current)
    return [tuple(p.strip().split("=", 1)) for p in parts if re.match(r"\s*\w+=[^=]", p)]


def _signatures():
    functions = {n.replace("-", "_"): _metric_function(n) for n, m in METRICS.items()
                 if not m["over_dataset"]}
    functions["sanity"] = whitebox.sanity
    for extra in ("report", "evaluate"):
        if hasattr(whitebox, extra):
            functions[extra] = getattr(whitebox, extra)
    return {name: inspect.signature(f).parameters for name, f in functions.items()}


@pytest.mark.parametrize("doc", ["python.md", "report.md", "metrics.md", "sanity.md"])
def test_docs_show_the_python_defaults(doc):
    """Outside code, a call written with name=value shows the signature's default (`...` leaves
    one out); in code, the values are the example's own, but each name must be one the function
    takes and a comment that says `default` must say the signature's."""
    signatures = _signatures()
    text = _doc(doc)
    fences = [m.start() for m in re.finditer(r"^```", text, re.M)]
    for name, arguments, offset in _calls(text, list(signatures)):
        line = text.count("\n", 0, offset) + 1
        in_code = sum(1 for f in fences if f < offset) % 2 == 1
        parameters = signatures[name]
        takes_more = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        for key, value in _keywords(arguments):
            if key not in parameters:
                assert takes_more, f"docs/{doc}:{line}: {name}() takes no {key}"
                continue
            if in_code or value.strip() == "...":
                continue
            default = parameters[key].default
            assert _same(value, default), (
                f"docs/{doc}:{line}: {name}({key}={value}) but its default is {default!r}")
    # `deletion`: `steps=224`, `batch=32`: a metric's options with their defaults.
    for m in re.finditer(r"`([a-z-]+)`: ((?:`\w+=[^`]*`, )*`\w+=[^`]*`)", text):
        if m.group(1) in METRICS:
            for key, value in re.findall(r"`(\w+)=([^`]*)`", m.group(2)):
                assert value == _declared(m.group(1), key), (
                    f"docs/{doc}: {m.group(0)}; the registry declares "
                    f"{key}={_declared(m.group(1), key)}")
    for m in re.finditer(r"^.*\b(\w+)\(.*#(.*default.*)$", text, re.M):
        name = m.group(1)
        if name not in signatures:
            continue
        for key, value in re.findall(r"\b(\w+)=([^\s,;)]+)", m.group(2)):
            if key in signatures[name]:
                assert _same(value, signatures[name][key].default), m.group(0)


def test_python_doc_curve_lengths_are_the_default_steps():
    """`"deletion_curve": [N, 225]`: steps + 1 points."""
    for name, length in re.findall(r'"(\w+)_curve": \[N, (\d+)\]', _doc("python.md")):
        metric = {c: n for n, m in METRICS.items() for c in m["curves"]}.get(name, name)
        assert int(length) == int(_declared(metric, "steps")) + 1, (name, length)


def test_sanity_doc_names_the_default_methods():
    text = _doc("sanity.md")
    row = re.search(r"^\| `--method` \|.*\(default `([^`]+)`\)", text, re.M)
    assert row, "docs/sanity.md: the `--method` row states no default"
    assert row.group(1) == whitebox._whitebox.sanity_methods
