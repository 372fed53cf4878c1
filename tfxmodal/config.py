"""YAML run configs: loading, `--set key=value` overrides, typed validation.

A task declares its config as nested dataclasses; `parse(schema, mapping)`
checks every key and type before any work starts, and errors name the full
key path (`train.batch_size: expected int, got str 'abc'`).
"""

import dataclasses
import os
import re
import types
import typing

import yaml

from tfxmodal.errors import ConfigError

_FLOAT_LITERAL = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def bounded(default, at_least=None, above=None, at_most=None, below=None):
    """A numeric config field with its valid range, checked by `parse` before any work.

    `bounded(0.5, at_least=0, below=1)` is a float in [0, 1). `None` values
    (of `Optional` fields) are not checked.
    """
    return dataclasses.field(
        default=default, metadata={"bounds": {"at_least": at_least, "above": above, "at_most": at_most, "below": below}}
    )


def _range_text(bounds):
    low = (
        f"[{bounds['at_least']}"
        if bounds["at_least"] is not None
        else f"({bounds['above']}"
        if bounds["above"] is not None
        else None
    )
    high = (
        f"{bounds['at_most']}]"
        if bounds["at_most"] is not None
        else f"{bounds['below']})"
        if bounds["below"] is not None
        else None
    )
    if low and high:
        return f"in {low}, {high}"
    if low:
        return f">= {low[1:]}" if low[0] == "[" else f"> {low[1:]}"
    return f"<= {high[:-1]}" if high[-1] == "]" else f"< {high[:-1]}"


def _check_bounds(bounds, value, key):
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    ok = (
        (bounds["at_least"] is None or value >= bounds["at_least"])
        and (bounds["above"] is None or value > bounds["above"])
        and (bounds["at_most"] is None or value <= bounds["at_most"])
        and (bounds["below"] is None or value < bounds["below"])
    )
    if not ok:
        raise ConfigError(f"{key}: must be {_range_text(bounds)}, got {value!r}")


def read_yaml(path):
    """Returns the mapping in YAML file `path`, or raises `ConfigError`."""
    if os.path.isdir(path):
        raise ConfigError(f"{path}: a directory; expected a YAML config file (e.g. configs/face2music_demo.yaml)")
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML{yaml_problem(error)}") from None
        except UnicodeDecodeError as error:
            raise ConfigError(
                f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
            ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data


def yaml_problem(error):
    """` at line L, column C: <problem> (<context>)` of a PyYAML (or UTF-8 decoding) error, on one line.

    PyYAML's own text spans several lines, with the file name and a caret drawing.
    """
    if isinstance(error, UnicodeDecodeError):
        return f": not UTF-8 text ({error.reason} at byte {error.start})"
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    context = getattr(error, "context", None)
    return f"{where}: {problem}" + (f" ({context})" if context else "")


def apply_overrides(data, overrides):
    """Applies `key.sub=value` strings (values parsed as YAML) to a copy of `data`."""
    data = _deep_copy(data)
    for override in overrides:
        key, sep, raw = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {override!r}: expected KEY=VALUE, e.g. train.steps=100")
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = data
        parts = key.split(".")
        for depth, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {override!r}: {'.'.join(parts[: depth + 1])} is not a section")
            node = child
        node[parts[-1]] = value
    return data


def _deep_copy(data):
    if isinstance(data, dict):
        return {key: _deep_copy(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_deep_copy(value) for value in data]
    return data


def parse(schema, mapping, path=""):
    """Builds dataclass `schema` from `mapping`, checking keys and types."""
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path or 'config'}: expected a mapping, got {_describe(mapping)}")
    fields = {field.name: field for field in dataclasses.fields(schema)}
    unknown = sorted(set(mapping) - set(fields))
    if unknown:
        where = f"{path}." if path else ""
        raise ConfigError(
            f"unknown key {where}{unknown[0]!s} (known keys{' of ' + path if path else ''}: "
            f"{', '.join(sorted(fields))})"
        )
    hints = typing.get_type_hints(schema)
    values = {}
    for name, value in mapping.items():
        key = f"{path}.{name}" if path else name
        values[name] = _coerce(hints[name], value, key)
        if "bounds" in fields[name].metadata:
            _check_bounds(fields[name].metadata["bounds"], values[name], key)
    try:
        config = schema(**values)
    except TypeError as error:
        raise ConfigError(f"{path or 'config'}: {error}") from None
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate()
    return config


def _coerce(hint, value, key):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, key)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0])
    if origin is typing.Literal:
        choices = typing.get_args(hint)
        if value not in choices:
            raise ConfigError(f"{key}: expected one of {list(choices)}, got {value!r}")
        return value
    if origin in (list, tuple):
        (item,) = typing.get_args(hint)[:1]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {_describe(value)}")
        items = [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if dataclasses.is_dataclass(hint):
        return parse(hint, value, key)
    if hint is float:
        # YAML 1.1 (PyYAML) reads `2e-4` (no dot) as a string; it is the number it looks like.
        if isinstance(value, str) and _FLOAT_LITERAL.fullmatch(value.strip()):
            return float(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {_describe(value)}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {_describe(value)}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {_describe(value)}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {_describe(value)}")
        return value
    raise ConfigError(f"{key}: unsupported type {hint}")  # a schema bug, not user error


def _describe(value):
    return f"{type(value).__name__} {value!r}"


def has_key(schema, dotted):
    """Whether the config dataclass `schema` has the dotted key (`"export.dir"`)."""
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(schema) or part not in {field.name for field in dataclasses.fields(schema)}:
            return False
        schema = typing.get_type_hints(schema)[part]
    return True


def to_dict(config):
    """The plain-dict (YAML-ready) form of a parsed config."""
    return dataclasses.asdict(config)


def dump_yaml(config):
    return yaml.safe_dump(to_dict(config), sort_keys=False)
