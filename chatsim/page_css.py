"""Only the CSS a report page uses.

nbconvert's ``lab`` template puts JupyterLab's whole stylesheet (``index.css`` and the
light theme: about 255 KB, mostly rules for widgets, menus and icons a static page never
shows) and the Pygments styles into every page. :func:`trim_page_css` keeps, from every
``<style>`` block of a finished page:

* the rules with at least one selector that can match the page: every class and id it
  names appears somewhere in the page's markup or scripts (selectors naming only elements,
  ``:root`` or ``*`` are kept; arguments of ``:not()``, ``:is()``, ``:where()``, ``:has()``
  are not required, so a kept rule is never one the page needed less);
* the custom properties (``--jp-...``) that the kept rules, the page's inline styles and
  scripts use, with the ones those refer to;
* ``@media``/``@supports`` blocks with what is kept inside them; ``@keyframes`` only when
  a kept rule names them; other at-rules as they are;

drops comments and spaces, and keeps one copy of a ``<style>`` block that repeats. The
page looks the same (the browser test compares screenshots) and stays self-contained.

Example:
    >>> page = ('<style>.used{color:red}.unused{color:blue}:root{--a:1px;--b:2px}'
    ...         'p{margin:var(--a)}</style><p class="used">x</p>')
    >>> trim_page_css(page)
    '<style>.used{color:red}:root{--a:1px}p{margin:var(--a)}</style><p class="used">x</p>'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

__all__ = ["CSS_NOTICE", "trim_css", "trim_page_css"]

#: Kept at the head of a trimmed stylesheet that came from JupyterLab's.
CSS_NOTICE = (
    "/* Trimmed to what this page uses from JupyterLab's stylesheet: Copyright (c) Jupyter "
    "Development Team, Modified BSD License. */"
)

_NESTING_AT_RULES = frozenset({"media", "supports", "layer", "container", "document", "scope"})
_WORD = re.compile(r"-?[_a-zA-Z][\w-]*")
_SCRIPT = re.compile(r"(<script\b.*?</script\s*>)", re.IGNORECASE | re.DOTALL)
_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style\s*>)", re.IGNORECASE | re.DOTALL)
_VAR_REF = re.compile(r"var\(\s*(--[\w-]+)")
_FUNCTIONAL = re.compile(r":(?:not|is|where|has|matches|-webkit-any|-moz-any)\(", re.IGNORECASE)
_CLASS_OR_ID = re.compile(r"[.#](-?[_a-zA-Z\\][\w\\-]*)")


# --------------------------------------------------------------------------- scanning


def _skip_string(css: str, i: int) -> int:
    """Index just past the string starting at ``css[i]`` (a quote)."""
    quote, i = css[i], i + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _strip_comments(css: str) -> str:
    out, i, n = [], 0, len(css)
    while i < n:
        ch = css[i]
        if ch in "\"'":
            j = _skip_string(css, i)
            out.append(css[i:j])
            i = j
        elif css.startswith("/*", i):
            end = css.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _scan(css: str, i: int, stops: str) -> int:
    """Index of the first character of ``stops`` at depth 0 (outside strings, brackets)."""
    depth, n = 0, len(css)
    while i < n:
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in stops:
            return i
        i += 1
    return n


def _block_end(css: str, i: int) -> int:
    """Index of the ``}`` closing the block whose ``{`` is at ``css[i]``."""
    depth, i, n = 0, i, len(css)
    while i < n:
        ch = css[i]
        if ch in "\"'":
            i = _skip_string(css, i)
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n


# A node: ("rule", prelude, body), ("at", prelude, [nodes]), ("raw", prelude, body | None).
def _parse(css: str, i: int = 0) -> tuple[list[tuple], int]:
    nodes: list[tuple] = []
    n = len(css)
    while i < n:
        while i < n and css[i].isspace():
            i += 1
        if i >= n:
            break
        if css[i] == "}":
            return nodes, i + 1
        j = _scan(css, i, "{;}")
        prelude = " ".join(css[i:j].split())
        if j >= n or css[j] != "{":
            if prelude:
                nodes.append(("raw", prelude, None))
            i = j + 1 if j < n and css[j] == ";" else j
            continue
        at = prelude[1:].split(None, 1)[0].lower() if prelude.startswith("@") else ""
        if at in _NESTING_AT_RULES:
            children, i = _parse(css, j + 1)
            nodes.append(("at", prelude, children))
            continue
        end = _block_end(css, j)
        nodes.append(("raw" if at else "rule", prelude, css[j + 1 : end]))
        i = end + 1
    return nodes, n


@functools.lru_cache(maxsize=32)
def _parsed(css: str) -> tuple[tuple, ...]:
    return tuple(_parse(_strip_comments(css))[0])


def _split(text: str, sep: str) -> list[str]:
    parts, i = [], 0
    while i <= len(text):
        j = _scan(text, i, sep)
        parts.append(text[i:j].strip())
        i = j + 1
    return [p for p in parts if p]


# --------------------------------------------------------------------------- selection


def _without_functional_args(selector: str) -> str:
    """The selector with the arguments of ``:not()`` & co. removed (never required)."""
    out, i = [], 0
    for m in _FUNCTIONAL.finditer(selector):
        if m.start() < i:
            continue
        out.append(selector[i : m.end() - 1])
        close = _scan(selector, m.end(), ")")
        i = close + 1
    out.append(selector[i:])
    return "".join(out)


def _may_match(selector: str, words: frozenset[str]) -> bool:
    plain = re.sub(r"\[[^\]]*\]", " ", _without_functional_args(selector))
    names = _CLASS_OR_ID.findall(plain)
    return all(name in words or "\\" in name for name in names)


def _declarations(body: str) -> list[tuple[str, str]]:
    out = []
    for decl in _split(body, ";"):
        name, colon, value = decl.partition(":")
        if colon:
            out.append((name.strip(), " ".join(value.split())))
    return out


def _select(nodes: Iterable[tuple], words: frozenset[str]) -> list[tuple]:
    kept: list[tuple] = []
    for kind, prelude, body in nodes:
        if kind == "rule":
            selectors = [s for s in _split(prelude, ",") if _may_match(s, words)]
            if selectors:
                kept.append(("rule", ",".join(selectors), _declarations(body)))
        elif kind == "at":
            inner = _select(body, words)
            if inner:
                kept.append(("at", prelude, inner))
        else:
            kept.append(("raw", prelude, body))
    return kept


def _walk(nodes: Iterable[tuple]) -> Iterable[tuple]:
    for node in nodes:
        yield node
        if node[0] == "at":
            yield from _walk(node[2])


def _used_properties(sheets: list[list[tuple]], page: str) -> set[str]:
    defined: dict[str, list[str]] = {}
    used = set(_VAR_REF.findall(page))
    for node in (n for sheet in sheets for n in _walk(sheet)):
        if node[0] == "rule":
            for name, value in node[2]:
                if name.startswith("--"):
                    defined.setdefault(name, []).append(value)
                else:
                    used.update(_VAR_REF.findall(value))
        elif node[0] == "raw" and node[2]:
            used.update(_VAR_REF.findall(node[2]))
    todo = list(used)
    while todo:
        for value in defined.get(todo.pop(), ()):
            for ref in _VAR_REF.findall(value):
                if ref not in used:
                    used.add(ref)
                    todo.append(ref)
    return used


def _render(nodes: Iterable[tuple], used: set[str], animations: set[str]) -> str:
    out = []
    for kind, prelude, body in nodes:
        if kind == "rule":
            decls = [f"{k}:{v}" for k, v in body if not k.startswith("--") or k in used]
            if decls:
                out.append(f"{prelude}{{{';'.join(decls)}}}")
        elif kind == "at":
            inner = _render(body, used, animations)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif body is None:
            out.append(f"{prelude};")
        else:
            name = prelude.split(None, 1)[-1] if "keyframes" in prelude.lower() else None
            if name is None or name in animations:
                out.append(f"{prelude}{{{' '.join(body.split())}}}")
    return "".join(out)


def _animations(sheets: list[list[tuple]]) -> set[str]:
    names: set[str] = set()
    for node in (n for sheet in sheets for n in _walk(sheet)):
        if node[0] == "rule":
            for name, value in node[2]:
                if name in ("animation", "animation-name"):
                    names.update(_WORD.findall(value))
    return names


def trim_css(sheets: list[str], page: str) -> list[str]:
    """Each stylesheet of ``sheets`` trimmed to what ``page`` (the markup and scripts
    around them, without the sheets) can use; custom properties are kept across sheets
    (one sheet may use what another defines).

    Example:
        >>> trim_css([".a{color:red}.b{color:blue}"], '<i class="b"></i>')
        ['.b{color:blue}']
    """
    words = frozenset(_WORD.findall(page))
    selected = [_select(_parsed(css), words) for css in sheets]
    used = _used_properties(selected, page)
    animations = _animations(selected)
    return [_render(sheet, used, animations) for sheet in selected]


def trim_page_css(html_text: str, *, skip_script_marker: str = "") -> str:
    """A finished page with every ``<style>`` block trimmed (:func:`trim_css`), repeated
    blocks kept once, and :data:`CSS_NOTICE` before the trimmed JupyterLab sheet.

    ``<style>`` text inside ``<script>`` elements is left alone; a script whose opening
    tag holds ``skip_script_marker`` (the page's large vega-embed bundle) is not read for
    class names.

    Example:
        >>> trim_page_css("<style>.x{color:red}</style><style>.x{color:red}</style><b class=x>")
        '<style>.x{color:red}</style><b class=x>'
    """
    parts = _SCRIPT.split(html_text)  # odd indices: <script> elements
    styles: list[tuple[int, re.Match[str]]] = []
    page_bits: list[str] = []
    for k, part in enumerate(parts):
        if k % 2:
            opening = part[: part.find(">") + 1]
            if not (skip_script_marker and skip_script_marker in opening):
                page_bits.append(part)
            else:
                page_bits.append(opening)
            continue
        last = 0
        for m in _STYLE.finditer(part):
            styles.append((k, m))
            page_bits.append(part[last : m.start()])
            last = m.end()
        page_bits.append(part[last:])
    if not styles:
        return html_text
    trimmed = trim_css([m.group(2) for _, m in styles], "".join(page_bits))
    seen: set[str] = set()
    replacement: dict[tuple[int, int], str] = {}
    for (k, m), css in zip(styles, trimmed, strict=True):
        if not css or css in seen:
            replacement[(k, m.start())] = ""
            continue
        seen.add(css)
        notice = CSS_NOTICE if "Jupyter Development Team" in m.group(2) else ""
        replacement[(k, m.start())] = f"{m.group(1)}{notice}{css}{m.group(3)}"
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            out.append(part)
            continue
        last = 0
        for m in _STYLE.finditer(part):
            out.append(part[last : m.start()] + replacement[(k, m.start())])
            last = m.end()
        out.append(part[last:])
    return "".join(out)
