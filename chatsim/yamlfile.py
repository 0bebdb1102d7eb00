"""Reading rule and scenario YAML files safely, and checking the numbers read from them.

One loader for every configuration file chatsim reads (rules and scenarios):

* :func:`read_yaml_file` / :func:`parse_yaml`: YAML through a safe loader that refuses
  aliases expanding to more than :data:`MAX_EXPANDED_NODES` values (a "YAML bomb" of
  nested anchors), recursive aliases, files over :data:`MAX_FILE_BYTES`, text that is not
  UTF-8 and invalid dates or numbers, each as the caller's named error with one line
  naming the file and the place;
* :func:`shown`: a value as quoted in an error message, cut to about 80 characters
  (never the whole of a huge or deeply nested value);
* :func:`check_number`: a finite number in a range (NaN, infinity, booleans, text and
  numbers too large for a float are refused).

Example:
    >>> parse_yaml("window_hours: 12", "r.yaml", ValueError)
    {'window_hours': 12}
    >>> check_number(float("nan"), "r.yaml: target", ValueError, lo=0, hi=1)
    Traceback (most recent call last):
    ...
    ValueError: r.yaml: target: must be a finite number, got nan.
    >>> shown(list(range(100)))
    '[0, 1, 2, 3, 4, 5, 6, 7, ...]'
"""

from __future__ import annotations

import math
import reprlib
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPANDED_NODES",
    "MAX_FILE_BYTES",
    "SHOWN_CHARS",
    "check_number",
    "parse_yaml",
    "read_yaml_file",
    "shown",
]

#: Largest configuration file read (a rule or scenario file is a few kilobytes).
MAX_FILE_BYTES = 4 * 1024 * 1024
#: Most values a document may hold once its aliases (``*name``) are expanded.
MAX_EXPANDED_NODES = 100_000
#: Deepest nesting of lists and mappings a document may have.
MAX_DEPTH = 100
#: Longest quotation of a value in an error message.
SHOWN_CHARS = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = 8
_REPR.maxdict = 6
_REPR.maxstring = SHOWN_CHARS
_REPR.maxother = SHOWN_CHARS
_REPR.maxlong = 40


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for an error message, at most ``limit`` characters (``...`` marks a cut).

    Bounded in time too: only a few items of each level of a nested value are looked at.

    Example:
        >>> len(shown("x" * 10_000)), shown({"name": [[[[1]]]]})
        (80, "{'name': [[[...]]]}")
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a value whose repr fails (e.g. an int too long to print)
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def check_number(
    v: Any,
    where: str,
    error: type[Exception],
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    percent: bool = False,
    hint: str = "",
) -> float:
    """``v`` as a float if it is a finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``).

    ``percent`` also takes text such as ``"85%"`` (read as 0.85). Anything else raises
    ``error("<where>: ...")`` saying what was expected and what was found; ``hint`` is
    added to the range messages.

    Example:
        >>> check_number("85%", "r.yaml: target", ValueError, lo=0, hi=1, percent=True)
        0.85
        >>> check_number(-1, "x.yaml: shops", ValueError, lo=0, lo_open=True)
        Traceback (most recent call last):
        ...
        ValueError: x.yaml: shops: must be > 0, got -1.
    """
    raw = v
    if percent and isinstance(v, str) and v.strip().endswith("%"):
        try:
            v = float(v.strip()[:-1]) / 100
        except ValueError:
            raise error(f"{where}: expected a number or a percentage, got {shown(raw)}.") from None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise error(f"{where}: expected a number, got {type(v).__name__} {shown(raw)}.")
    try:
        x = float(v)
    except OverflowError:
        raise error(f"{where}: the number {shown(raw)} is too large.") from None
    if not math.isfinite(x):
        raise error(f"{where}: must be a finite number, got {shown(raw)}.")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise error(f"{where}: must be {'>' if lo_open else '>='} {lo:g}, got {shown(raw)}{hint}.")
    if hi is not None and x > hi:
        raise error(f"{where}: must be <= {hi:g}, got {shown(raw)}{hint}.")
    return x


# --------------------------------------------------------------------------------------
# the loader
# --------------------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing alias bombs, recursive aliases and invalid scalars."""

    def fetch_flow_collection_start(self, token_class: type) -> None:
        if self.flow_level >= MAX_DEPTH:
            self._too_deep()
        super().fetch_flow_collection_start(token_class)

    def add_indent(self, column: int) -> bool:
        if len(self.indents) >= MAX_DEPTH:
            self._too_deep()
        return super().add_indent(column)

    def _too_deep(self) -> None:
        raise yaml.scanner.ScannerError(
            None, None, f"values nested more than {MAX_DEPTH} deep", self.get_mark()
        )

    def compose_document(self) -> yaml.Node:
        node = super().compose_document()
        _check_expansion(node, self.get_mark())
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid number {shown(node.value)}", node.start_mark
            ) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {shown(node.value)} ({exc})", node.start_mark
            ) from None


_BoundedLoader.add_constructor("tag:yaml.org,2002:int", _BoundedLoader.construct_yaml_int)
_BoundedLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _BoundedLoader.construct_yaml_timestamp
)


def _check_expansion(root: yaml.Node | None, mark: Any) -> None:
    """Refuse a node graph whose expansion (aliases copied out) exceeds the bound, or loops."""
    if root is None:
        return
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = _children(node)
        if done:
            on_path.discard(key)
            size[key] = min(1 + sum(size[id(k)] for k in kids), MAX_EXPANDED_NODES + 1)
            if size[key] > MAX_EXPANDED_NODES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases expand to more than {MAX_EXPANDED_NODES:,} values; write the "
                    "values out or nest fewer aliases",
                    node.start_mark,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to a value that contains it", node.start_mark
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """The YAML document in ``text`` as plain data; problems raise ``error("<source>: ...")``.

    Example:
        >>> parse_yaml("a: &x [1, 2]\\nb: *x", "s.yaml", ValueError)
        {'a': [1, 2], 'b': [1, 2]}
        >>> parse_yaml("a: [1,", "s.yaml", ValueError)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: s.yaml: not valid YAML at line 1, column 7: ...
    """
    try:
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 (a safe loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        what = exc.problem or exc.context or "unreadable"
        raise error(f"{source}: not valid YAML{at}: {_one_line(what)}.") from None
    except yaml.YAMLError as exc:  # the reader: control characters, bad encoding
        raise error(f"{source}: not valid YAML: {_one_line(str(exc))}.") from None
    except RecursionError:
        raise error(f"{source}: not valid YAML: values nested too deeply.") from None


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(str(text).split()).rstrip(".")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def read_yaml_file(path: str | Path, error: type[Exception], what: str = "YAML") -> Any:
    """Read and parse a YAML file; a missing, unreadable, binary or huge file raises ``error``.

    ``what`` names the kind of file in messages ("rule", "scenario").

    Example:
        >>> read_yaml_file("nope.yaml", ValueError, "rule")
        Traceback (most recent call last):
        ...
        ValueError: nope.yaml: rule file not found.
    """
    p = Path(path)
    if not p.exists():
        raise error(f"{p}: {what} file not found.")
    if p.is_dir():
        raise error(f"{p}: is a folder; give the path of a {what} YAML file.")
    try:
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise error(
                f"{p}: {size:,} bytes is too large for a {what} file "
                f"(at most {MAX_FILE_BYTES:,}); is it the right file?"
            )
        data = p.read_bytes()
    except OSError as exc:
        raise error(f"{p}: cannot read the {what} file ({exc.strerror or exc}).") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(
            f"{p}: not a text file (byte {exc.start} is not UTF-8); save the {what} "
            "file as UTF-8 text."
        ) from None
    return parse_yaml(text, str(p), error)
