"""Load flows from YAML or TOML; a bad file is refused with file, line and reason.

Format (YAML shown; TOML uses ``[nodes.<id>]`` tables)::

    flow: hotline
    start: welcome
    fallback_queue: general
    nodes:
      welcome: {type: prompt, say: "Welcome", next: main}
      main:
        type: menu
        prompt: "Press 1 for balance"
        options: {"1": balance}
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import typing
from pathlib import Path
from typing import Any

import yaml

from .flow import Flow
from .nodes import NODE_TYPES, Node

_FLOW_KEYS = {"flow", "start", "fallback_queue", "error_prompt", "max_steps", "nodes"}


class FlowLoadError(ValueError):
    """Refused flow file: ``file``, ``line`` (1-based, or None) and ``reason``."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        super().__init__(f"{file}:{line if line is not None else '?'}: {reason}")


# --------------------------------------------------------------- locating keys
class _Duplicate(Exception):
    def __init__(self, key: str, line: int) -> None:
        self.key, self.line = key, line


def _yaml_lines(node: yaml.Node, prefix: tuple = (), out: dict | None = None) -> dict:
    out = {} if out is None else out
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for k, v in node.value:
            if k.value in seen:  # PyYAML would silently keep the last one
                raise _Duplicate(k.value, k.start_mark.line + 1)
            seen.add(k.value)
            key = (*prefix, k.value)
            out[key] = k.start_mark.line + 1
            _yaml_lines(v, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _yaml_lines(v, (*prefix, i), out)
    return out


def _toml_locator(text: str):
    lines = text.splitlines()

    def locate(path: tuple) -> int | None:
        if not path:
            return 1
        if len(path) >= 2 and path[0] == "nodes":
            hdr = re.compile(rf"^\s*\[\s*nodes\.\"?{re.escape(str(path[1]))}\"?\s*\]")
            start = next((i for i, ln in enumerate(lines) if hdr.match(ln)), None)
            if start is None:
                return None
            if len(path) == 2:
                return start + 1
            key = re.compile(rf"^\s*\"?{re.escape(str(path[2]))}\"?\s*=")
            for i in range(start + 1, len(lines)):
                if lines[i].lstrip().startswith("["):
                    break
                if key.match(lines[i]):
                    return i + 1
            return start + 1
        key = re.compile(rf"^\s*{re.escape(str(path[0]))}\s*=")
        return next((i + 1 for i, ln in enumerate(lines) if key.match(ln)), None)

    return locate


# ---------------------------------------------------------------- building
def _check_type(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, __import__("types").UnionType):
        return any(_check_type(value, h) for h in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if origin is dict:
        return isinstance(value, dict)
    if origin is list:
        return isinstance(value, list)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def _build_node(nid: str, spec: Any, where, file: str) -> Node:
    if not isinstance(spec, dict):
        raise FlowLoadError(file, where(("nodes", nid)), f"node {nid!r} must be a mapping")
    kind = spec.get("type")
    cls = NODE_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise FlowLoadError(
            file,
            where(("nodes", nid, "type")) or where(("nodes", nid)),
            f"node {nid!r}: unknown type {kind!r}; use one of {sorted(NODE_TYPES)}",
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in spec.items():
        if key == "type":
            continue
        if key not in fields:
            raise FlowLoadError(
                file, where(("nodes", nid, key)), f"node {nid!r} ({kind}): unknown key {key!r}"
            )
        if isinstance(value, dict):
            value = {str(k): v for k, v in value.items()}
        if not _check_type(value, hints[key]):
            raise FlowLoadError(
                file,
                where(("nodes", nid, key)),
                f"node {nid!r}: {key!r} has the wrong type ({type(value).__name__})",
            )
        kwargs[key] = value
    missing = [
        n
        for n, f in fields.items()
        if n not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise FlowLoadError(
            file, where(("nodes", nid)), f"node {nid!r} ({kind}): missing {', '.join(missing)}"
        )
    return cls(**kwargs)


def flow_from_dict(data: Any, file: str = "<flow>", where=lambda path: None) -> Flow:
    """Build and check a :class:`Flow` from parsed data; errors carry ``file`` and lines."""
    if not isinstance(data, dict):
        raise FlowLoadError(file, 1, "a flow file must be a mapping at the top level")
    for k in data:
        if k not in _FLOW_KEYS:
            raise FlowLoadError(file, where((k,)), f"unknown top-level key {k!r}")
    for k in ("start", "fallback_queue", "nodes"):
        if k not in data:
            raise FlowLoadError(file, 1, f"missing top-level key {k!r}")
    nodes_spec = data["nodes"]
    if not isinstance(nodes_spec, dict) or not nodes_spec:
        raise FlowLoadError(file, where(("nodes",)), "'nodes' must be a non-empty mapping")
    nodes = {str(nid): _build_node(str(nid), spec, where, file) for nid, spec in nodes_spec.items()}
    flow = Flow(
        name=str(data.get("flow", Path(file).stem)),
        start=str(data["start"]),
        nodes=nodes,
        fallback_queue=str(data["fallback_queue"]),
        **{k: data[k] for k in ("error_prompt", "max_steps") if k in data},
    )
    problems = flow.problems()
    if problems:
        nid, fld, reason = problems[0]
        if nid is None:
            line = where((fld,))
        else:
            base = fld.split(".")[0] if fld else None
            sub = fld.split(".", 1)[1] if fld and "." in fld else None
            line = (
                (sub is not None and where(("nodes", nid, base, sub)))
                or (base and where(("nodes", nid, base)))
                or where(("nodes", nid))
            )
        label = f"node {nid!r}: {fld}" if nid else str(fld)
        raise FlowLoadError(file, line or None, f"{label}: {reason}")
    return flow


def load_flow_text(text: str, fmt: str, file: str = "<string>") -> Flow:
    """Parse ``text`` as ``"yaml"`` or ``"toml"``."""
    if fmt == "yaml":
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            raise FlowLoadError(
                file, mark.line + 1 if mark else None, f"YAML syntax: {e.problem or e}"
            ) from None
        if root is None:
            raise FlowLoadError(file, 1, "empty flow file")
        try:
            lines = _yaml_lines(root)
        except _Duplicate as d:
            raise FlowLoadError(file, d.line, f"duplicate key {d.key!r}") from None
        return flow_from_dict(data, file, lambda p: lines.get(p))
    if fmt == "toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            raise FlowLoadError(file, int(m.group(1)) if m else None, f"TOML syntax: {e}") from None
        return flow_from_dict(data, file, _toml_locator(text))
    raise ValueError(f"unknown flow format {fmt!r}")


def load_flow(path: str | Path) -> Flow:
    """Load a flow from a ``.yaml``/``.yml`` or ``.toml`` file."""
    p = Path(path)
    fmt = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml"}.get(p.suffix.lower())
    if fmt is None:
        raise FlowLoadError(str(p), None, "flow files must end in .yaml, .yml or .toml")
    return load_flow_text(p.read_text(encoding="utf-8"), fmt, str(p))
