"""What a path expression evaluates to: its whole text when it is literal, else its literal end
(and so its extension: ``.keras``, ``.h5``, ``.weights.h5``, none for a SavedModel directory or a
TF checkpoint prefix), or nothing when it cannot be known.

One module owns this so that every rule, the program model's save -> load links and the function
summaries agree on what a path is.  It follows string literals, names assigned in this or an
outer scope, f-strings, ``+``, ``%`` and ``.format`` whose end is literal, ``os.path.join``,
``pathlib`` (``Path(...)``, ``/``, ``joinpath``, ``with_suffix``, ``with_name``), and the values
of command-line options read through their defaults: argparse (``args.model_path``), absl
(``FLAGS.model_path``) and click (the decorated function's parameter).  A default is what the
program runs with when the option is not given; an option that is required, converted by an
unknown ``type=``, a list, a flag, without a default or with ``default=None``, or assigned anywhere
in the module is not known.  Unknown stays unknown: ``evaluate`` returns None.

The options are read with CPython's ``ast`` (``read_options``), the one reader both the rules (on
the linted file's text, only when a path is such an option) and ``modulefacts`` (on the module it
summarizes) use.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import libcst as cst

from tflint_save import nodes
from tflint_save.names import dotted

SEPARATORS = ("/", "\\")
KNOWN_EXTENSIONS = (".weights.h5", ".weights.json", ".keras", ".h5", ".hdf5")
# Functions that return their path argument with the same end.
_SAME_END = ("str", "fspath", "abspath", "expanduser", "realpath", "normpath", "expandvars")
_JOINS = ("Path", "PurePath", "PosixPath", "PurePosixPath", "WindowsPath", "PureWindowsPath", "joinpath")
_PERCENT = re.compile(r"%[-#0 +]*[0-9*]*(?:\.[0-9*]+)?[diouxXeEfFgGcrsa%]")


@dataclass(frozen=True)
class PathValue:
    """What is known of a path: its literal end, whether its whole file name is literal (so
    nothing dynamic can come before it and change the extension), and whether all of it is.
    Joined paths keep a "/" before their last part ("/m.keras")."""

    tail: str
    known: bool = False
    whole: bool = False

    @property
    def text(self) -> Optional[str]:
        """The path itself, when every part of it is literal."""
        return self.tail if self.whole else None

    @property
    def name(self) -> Optional[str]:
        """The file name, when it is wholly literal."""
        name = self.tail.replace("\\", "/").rsplit("/", 1)[-1]
        return name if self.known and name else None

    def ends_with(self, extensions: Tuple[str, ...]) -> Optional[bool]:
        """Whether the path ends with one of ``extensions``; None when a dynamic part of the
        file name could still complete one (f"{name}.h5" may be "x.weights.h5")."""
        tail = self.tail
        if tail.endswith(extensions):
            return True
        if not self.known:
            for piece in (tail, tail.lstrip("/\\")):
                if piece and any(e.endswith(piece) for e in extensions):
                    return None
        return False

    @property
    def extension(self) -> Optional[str]:
        """'.weights.h5', '.keras', '.h5', '.hdf5', '.weights.json', another suffix ('.tf',
        '.ckpt'), '' for none (a SavedModel directory or a TF checkpoint prefix), or None when a
        dynamic part of the file name could still change it."""
        for extension in KNOWN_EXTENSIONS:
            found = self.ends_with((extension,))
            if found is None:
                return None
            if found:
                # f"{name}.h5" may still be "x.weights.h5"
                longer = [e for e in KNOWN_EXTENSIONS if e != extension and e.endswith(extension)]
                return extension if not longer or self.ends_with(tuple(longer)) is False else None
        name = self.tail.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
        if not self.known:
            return None
        stem, dot, suffix = name.rpartition(".")
        return "." + suffix if dot and stem else ""


def evaluate(node: Optional[cst.BaseExpression], ctx=None, depth: int = 0) -> Optional[PathValue]:
    """What the path expression ``node`` evaluates to in the file ``ctx`` walks (without
    ``ctx``: literals only, names are not followed), or None when it cannot be known."""
    if node is None or depth > 8:
        return None
    value = nodes.string(node)
    if value is not None:
        return PathValue(value, True, True)
    if isinstance(node, cst.FormattedString):
        parts = node.parts
        if all(isinstance(p, cst.FormattedStringText) for p in parts):
            return PathValue("".join(p.value for p in parts), True, True)
        last = parts[-1]
        return _fstring_end(last.value) if isinstance(last, cst.FormattedStringText) else None
    if isinstance(node, cst.ConcatenatedString):
        return _concatenated(evaluate(node.right, ctx, depth + 1))
    if isinstance(node, cst.BinaryOperation):
        operator = node.operator
        if isinstance(operator, cst.Divide):
            return _joined(2, evaluate(node.right, ctx, depth + 1))
        if isinstance(operator, cst.Add):
            return _concatenated(evaluate(node.right, ctx, depth + 1))
        if isinstance(operator, cst.Modulo):
            return _percent(nodes.string(node.left))
        return None
    if isinstance(node, cst.Call):
        return _call(node, ctx, depth)
    if ctx is None:
        return None
    if isinstance(node, cst.Name):
        found = ctx.value_of(node.value)
        if found is not None:
            return evaluate(found, ctx, depth + 1)
        return _click_parameter(node.value, ctx)
    if isinstance(node, cst.Attribute):
        return _option(node, ctx)
    return None


def tail(node: Optional[cst.BaseExpression], ctx=None) -> Optional[str]:
    """The known end of a path expression (``evaluate(...).tail``), or None."""
    found = evaluate(node, ctx)
    return found.tail if found is not None else None


def _call(node: cst.Call, ctx, depth: int) -> Optional[PathValue]:
    parts = dotted(node.func) or []
    last = parts[-1] if parts else nodes.method_name(node)
    args = node.args
    if ".".join(parts).endswith("path.join") or last in _JOINS:
        if not args or args[-1].star or args[-1].keyword is not None:
            return None
        values = [evaluate(a.value, ctx, depth + 1) for a in args]
        if last == "joinpath":  # path.joinpath(name): the receiver is a part too
            values.insert(0, evaluate(node.func.value, ctx, depth + 1) if isinstance(node.func, cst.Attribute) else None)
        return _joined_all(values)
    if last in _SAME_END and len(args) == 1 and not args[0].star:
        return evaluate(args[0].value, ctx, depth + 1)
    if isinstance(node.func, cst.Attribute):
        if last == "format":  # "m_{}.h5".format(epoch)
            return _formatted(nodes.string(node.func.value))
        if last in ("with_suffix", "with_name") and len(args) == 1 and not args[0].star:
            given = nodes.string(args[0].value)
            if given is None:
                return None
            receiver = evaluate(node.func.value, ctx, depth + 1)
            return (_with_suffix if last == "with_suffix" else _with_name)(receiver, given)
    return None


# -- what each operation makes of the parts it knows (shared by both readers) ------------------

def _has_separator(text: str) -> bool:
    return any(s in text for s in SEPARATORS)


def _fstring_end(text: str) -> PathValue:
    """The literal text after an f-string's last placeholder: the file name is literal when a
    separator comes before it there (f"{d}/m.keras")."""
    return PathValue(text, _has_separator(text), False)


def _concatenated(right: Optional[PathValue]) -> Optional[PathValue]:
    """``left + right``: a dynamic left part may still lengthen the file name."""
    if right is None:
        return None
    return PathValue(right.tail, right.known and _has_separator(right.tail), False)


def _joined(count: int, last: Optional[PathValue]) -> Optional[PathValue]:
    """``os.path.join(..., last)`` / ``directory / last``: the last part is the file name."""
    if last is None:
        return None
    if count > 1:
        return PathValue("/" + last.tail, last.known, False)
    return last


def _joined_all(parts: List[Optional[PathValue]]) -> Optional[PathValue]:
    """``os.path.join(*parts)``: its text when every part is literal, else its last part."""
    if parts and all(p is not None and p.whole for p in parts):
        return PathValue(posixpath.join(*(p.tail for p in parts)), True, True)
    return _joined(len(parts), parts[-1]) if parts else None


def _percent(template: Optional[str]) -> Optional[PathValue]:
    """``"model_%d.h5" % epoch``: the template after its last conversion."""
    if template is None:
        return None
    end = _PERCENT.split(template)[-1]
    if end == template:
        return PathValue(template, True, True)
    return PathValue(end, _has_separator(end), False) if end else None


def _formatted(template: Optional[str]) -> Optional[PathValue]:
    """``"m_{}.h5".format(epoch)``: the template after its last field."""
    if template is None:
        return None
    if "{" not in template:
        return PathValue(template, True, True)
    end = template[template.rfind("}") + 1:]
    return PathValue(end, _has_separator(end), False) if end else None


def _with_suffix(receiver: Optional[PathValue], suffix: str) -> Optional[PathValue]:
    """``path.with_suffix(".keras")``: the file name's last suffix replaced."""
    if receiver is not None and receiver.known:
        head, _, name = receiver.tail.replace("\\", "/").rpartition("/")
        stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
        if stem:
            return PathValue(posixpath.join(head, stem + suffix) if head or receiver.tail.startswith("/")
                             else stem + suffix, True, receiver.whole)
    return PathValue(suffix, False, False) if suffix else None


def _with_name(receiver: Optional[PathValue], name: str) -> Optional[PathValue]:
    if receiver is not None and receiver.whole:
        head = receiver.tail.replace("\\", "/").rpartition("/")[0]
        return PathValue(posixpath.join(head, name) if head else name, True, True)
    return PathValue("/" + name, True, False)


# -- command-line options --------------------------------------------------------------------

@dataclass(frozen=True)
class Options:
    """The defaults of a module's command-line options, by where the program reads them:
    ``argparse`` and ``absl`` by attribute name, ``click`` by (function, parameter).  An
    option that is defined twice with different values, or whose value the module may change, is
    left out: its value is unknown."""

    argparse: Dict[str, PathValue]
    absl: Dict[str, PathValue]
    click: Dict[Tuple[str, str], PathValue]

    def attribute(self, receiver: str, attribute: str) -> Optional[PathValue]:
        """``receiver.attribute`` (``args.model_path``, ``FLAGS.model_path``)."""
        if receiver in ("self", "cls"):
            return None  # an object's own attribute, never an option
        table = self.absl if receiver == "FLAGS" else self.argparse
        return table.get(attribute)


NO_OPTIONS = Options({}, {}, {})
# Words without which a module defines no option worth reading.
OPTION_WORDS = ("add_argument", "DEFINE_string", "click")
_PATH_TYPES = ("str", "Path", "PurePath", "PosixPath", "STRING")
_ABSL_REQUIRED = ("mark_flag_as_required", "mark_flags_as_required")


def read_options(tree: ast.Module) -> Options:
    """The command-line options a module defines, with the path each one holds when it is
    not given on the command line (read with ``ast``: the program model reads modules that way)."""
    constants = _module_constants(tree)
    found: Dict[str, Dict[object, List[Optional[PathValue]]]] = {"argparse": {}, "absl": {}, "click": {}}
    changed = set()  # attributes the module assigns, set_defaults() or required absl flags
    click = any(isinstance(n, (ast.Import, ast.ImportFrom)) and "click" in ast.dump(n) for n in tree.body)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _ast_last(node.func)
            if name == "add_argument":
                option = _argparse_option(node, constants)
                if option is not None:
                    found["argparse"].setdefault(option[0], []).append(option[1])
            elif name == "DEFINE_string":
                option = _absl_option(node, constants)
                if option is not None:
                    found["absl"].setdefault(option[0], []).append(option[1])
            elif name == "set_defaults" or name in _ABSL_REQUIRED:
                changed.update(kw.arg for kw in node.keywords if kw.arg)
                changed.update(n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
                               and isinstance(n.value, str) and name in _ABSL_REQUIRED)
            elif name == "setattr" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                changed.add(node.args[1].value)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
            changed.add(node.attr)
        elif click and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                option = _click_option(decorator, constants)
                if option is not None:
                    found["click"].setdefault((node.name, option[0]), []).append(option[1])

    def settled(table: Dict[object, List[Optional[PathValue]]]) -> Dict:
        return {k: v[0] for k, v in table.items() if v[0] is not None and len(set(v)) == 1
                and (k[1] if isinstance(k, tuple) else k) not in changed}

    if not any(found.values()):
        return NO_OPTIONS
    return Options(settled(found["argparse"]), settled(found["absl"]), settled(found["click"]))


def _keywords(call: ast.Call) -> Optional[Dict[str, ast.AST]]:
    if any(kw.arg is None for kw in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
        return None  # **kwargs, *args: anything may be set
    return {kw.arg: kw.value for kw in call.keywords}


def _is_constant(node: Optional[ast.AST], *values) -> bool:
    return isinstance(node, ast.Constant) and any(node.value is v or node.value == v for v in values)


def _path_type(node: Optional[ast.AST]) -> bool:
    """No conversion, or one that keeps the path's text (str, pathlib.Path, click.Path())."""
    if node is None:
        return True
    if isinstance(node, ast.Call):
        return _ast_last(node.func) == "Path"  # click.Path(exists=...): still the text
    return _ast_last(node) in _PATH_TYPES


def _argparse_option(call: ast.Call, constants) -> Optional[Tuple[str, Optional[PathValue]]]:
    """``add_argument('--model-path', default='m.keras')`` -> ('model_path', its value)."""
    keywords = _keywords(call)
    flags = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if keywords is None or not flags:
        return None
    dest = keywords.get("dest")
    if isinstance(dest, ast.Constant) and isinstance(dest.value, str):
        name = dest.value
    else:
        longs = [f for f in flags if f.startswith("--")]
        name = (longs or flags)[0].lstrip("-").replace("-", "_")
    if not name:
        return None
    positional = not flags[0].startswith("-")
    nargs = keywords.get("nargs")
    unknown = (
        "default" not in keywords
        or not (_is_constant(keywords.get("required"), False) or "required" not in keywords)
        or (positional and not _is_constant(nargs, "?"))
        or (nargs is not None and not _is_constant(nargs, "?"))
        or not (_is_constant(keywords.get("action"), "store") or "action" not in keywords)
        or not _path_type(keywords.get("type"))
    )
    return name, None if unknown else _ast_value(keywords["default"], constants)


def _absl_option(call: ast.Call, constants) -> Optional[Tuple[str, Optional[PathValue]]]:
    """``flags.DEFINE_string('model_path', 'm.keras', 'help')`` -> ('model_path', its value)."""
    keywords = _keywords(call)
    if keywords is None:
        return None
    name = call.args[0] if call.args else keywords.get("name")
    default = call.args[1] if len(call.args) > 1 else keywords.get("default")
    if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
        return None
    if _is_constant(keywords.get("required"), True) or "required" in keywords and \
            not _is_constant(keywords["required"], False):
        return name.value, None
    return name.value, _ast_value(default, constants) if default is not None else None


def _click_option(decorator: ast.AST, constants) -> Optional[Tuple[str, Optional[PathValue]]]:
    """``@click.option('--out', default='m.keras')`` -> ('out', its value)."""
    if not isinstance(decorator, ast.Call) or _ast_last(decorator.func) not in ("option", "argument"):
        return None
    keywords = _keywords(decorator)
    decls = [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    if keywords is None or not decls:
        return None
    names = [d for d in decls if d.isidentifier()]
    if names:
        name = names[0]
    else:
        # click's choice: the first option with the longest prefix ("--out" before "-o")
        options = sorted((d.split("/")[0] for d in decls), key=lambda d: -(len(d) - len(d.lstrip("-"))))
        name = options[0].lstrip("-").replace("-", "_").lower()
    unknown = (
        "default" not in keywords
        or not (_is_constant(keywords.get("required"), False) or "required" not in keywords)
        or any(k in keywords and not _is_constant(keywords[k], False, 1) for k in ("multiple", "is_flag", "nargs"))
        or not _path_type(keywords.get("type"))
        or "callback" in keywords
    )
    return name, None if unknown else _ast_value(keywords["default"], constants)


def _ast_last(node: ast.AST) -> Optional[str]:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _module_constants(tree: ast.Module) -> Dict[str, ast.AST]:
    """Module-level names assigned exactly once: what an option's default may name."""
    counts: Dict[str, int] = {}
    values: Dict[str, ast.AST] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and counts.get(targets[0].id) == 1:
                values[targets[0].id] = statement.value
    return values


def _ast_value(node: Optional[ast.AST], constants: Dict[str, ast.AST], depth: int = 0) -> Optional[PathValue]:
    """``evaluate`` for an ``ast`` expression at module level (an option's default)."""
    if node is None or depth > 8:
        return None
    if isinstance(node, ast.Constant):
        return PathValue(node.value, True, True) if isinstance(node.value, str) else None
    if isinstance(node, ast.JoinedStr):
        values = node.values
        if all(isinstance(v, ast.Constant) for v in values):
            return PathValue("".join(v.value for v in values), True, True)
        last = values[-1] if values else None
        return _fstring_end(last.value) if isinstance(last, ast.Constant) else None
    if isinstance(node, ast.Name):
        return _ast_value(constants.get(node.id), constants, depth + 1)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Div):
            return _joined(2, _ast_value(node.right, constants, depth + 1))
        if isinstance(node.op, ast.Add):
            left, right = _ast_value(node.left, constants, depth + 1), _ast_value(node.right, constants, depth + 1)
            if left is not None and right is not None and left.whole and right.whole:
                return PathValue(left.tail + right.tail, True, True)
            return _concatenated(right)
        if isinstance(node.op, ast.Mod):
            template = node.left.value if isinstance(node.left, ast.Constant) else None
            return _percent(template if isinstance(template, str) else None)
        return None
    if isinstance(node, ast.Call) and not node.keywords and not any(isinstance(a, ast.Starred) for a in node.args):
        func = node.func
        last = _ast_last(func)
        if last == "join" or last in _JOINS:
            parts = [_ast_value(a, constants, depth + 1) for a in node.args]
            if last == "joinpath":
                parts.insert(0, _ast_value(func.value, constants, depth + 1) if isinstance(func, ast.Attribute) else None)
            return _joined_all(parts)
        if last in _SAME_END and len(node.args) == 1:
            return _ast_value(node.args[0], constants, depth + 1)
        if isinstance(func, ast.Attribute) and len(node.args) <= 1:
            template = func.value.value if isinstance(func.value, ast.Constant) else None
            if last == "format" and isinstance(template, str):
                return _formatted(template)
            given = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if last in ("with_suffix", "with_name") and isinstance(given, str):
                receiver = _ast_value(func.value, constants, depth + 1)
                return (_with_suffix if last == "with_suffix" else _with_name)(receiver, given)
    return None


# -- options read by the file the rules walk ---------------------------------------------------

def options(ctx) -> Options:
    """The options of the file ``ctx`` walks, read once (with ``ast``) and only when asked."""
    resolver = ctx.resolver
    found = resolver.options
    if found is None:
        found = NO_OPTIONS
        if any(word in ctx.text for word in OPTION_WORDS):
            try:
                found = read_options(ast.parse(ctx.text))
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found = NO_OPTIONS
        resolver.options = found
    return found


def _option(node: cst.Attribute, ctx) -> Optional[PathValue]:
    """``args.model_path`` (the receiver from ``parse_args()``, or a parameter), ``FLAGS.x``,
    ``flags.FLAGS.x``."""
    receiver = node.value
    if isinstance(receiver, cst.Attribute):
        if receiver.attr.value != "FLAGS":
            return None
        name = "FLAGS"
    elif isinstance(receiver, cst.Name):
        name = receiver.value
        if name in ("self", "cls"):
            return None  # an object's own attribute, never an option
        value = ctx.value_of(name)
        if isinstance(value, cst.Attribute) and value.attr.value == "FLAGS":
            name = "FLAGS"
        elif value is not None and not _parsed(value):
            return None  # some other object
    else:
        return None
    return options(ctx).attribute(name, node.attr.value)


def _parsed(value: cst.BaseExpression) -> bool:
    """``parser.parse_args()``, ``parser.parse_known_args()[0]``."""
    if isinstance(value, cst.Subscript):
        value = value.value
    return isinstance(value, cst.Call) and nodes.method_name(value) in ("parse_args", "parse_known_args")


def _click_parameter(name: str, ctx) -> Optional[PathValue]:
    """A parameter of the function being walked that a click option fills."""
    function = ctx.function
    if function is None or not function.decorators:
        return None
    if not any(p.name.value == name for p in function.params.params + function.params.kwonly_params):
        return None
    return options(ctx).click.get((function.name.value, name))
