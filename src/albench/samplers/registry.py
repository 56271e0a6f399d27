"""Name → sampler class: the built-ins, installed plugins and ``module:Class`` references.

Three ways a sampler gets a name:

* **Built-in**: a class in a module of :mod:`albench.samplers`, decorated with
  :func:`register` (every module of the package is imported on first use).
* **Installed plugin**: a distribution exposing an entry point in the group
  ``albench.samplers`` whose name is the sampler's name and whose value is
  ``package.module:Class`` (see ``examples/sampler-plugin/``).
* **Reference in a config**: an entry of ``samplers:`` written as
  ``package.module:Class`` (importable from the working directory or the
  environment) or ``path/to/file.py:Class`` (relative to the working directory);
  :func:`resolve` imports it and registers it under ``Class.name``.

A name claimed twice (a plugin that shadows a built-in, two plugins with one
name) and a plugin that fails to import are errors that name the plugin.
Looking names up reads entry-point metadata only; a plugin's module is imported
when its sampler is used or when every sampler is listed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.metadata
import importlib.util
import pkgutil
import re
import sys
from pathlib import Path
from typing import Any, TypeVar

from albench.samplers.base import ROLES, Need, Sampler

ENTRY_POINT_GROUP = "albench.samplers"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
BUILTIN = "albench"

_REGISTRY: dict[str, type[Sampler]] = {}
_ORIGINS: dict[str, str] = {}  # name -> where the class came from, for listings and provenance
_loaded_builtins = False
S = TypeVar("S", bound=type[Sampler])


class SamplerError(ValueError):
    """A sampler cannot be found, loaded or built; the message names it and what is valid."""


def register(cls: S, origin: str = BUILTIN) -> S:
    """Class decorator: add a :class:`Sampler` subclass under ``cls.name``."""
    _check_class(cls, origin)
    name = cls.name
    if name in _REGISTRY and _REGISTRY[name] is not cls:
        raise SamplerError(
            f"sampler name {name!r} is claimed twice: by {_describe(name)} and by "
            f"{cls.__module__}.{cls.__qualname__} ({origin}); rename one of them"
        )
    _REGISTRY[name] = cls
    _ORIGINS[name] = origin
    return cls


def sampler_names() -> list[str]:
    """Every sampler name: built-ins and installed plugins (plugins are not imported)."""
    _load_builtins()
    return sorted(set(_REGISTRY) | set(_plugin_entry_points()))


def get_sampler_class(name: str) -> type[Sampler]:
    """The class registered under ``name`` (an installed plugin is imported on first use)."""
    _load_builtins()
    if name not in _REGISTRY:
        entry_point = _plugin_entry_points().get(name)
        if entry_point is None:
            raise SamplerError(
                f"unknown sampler {name!r}; valid samplers: "
                f"{', '.join(sampler_names())} (or a module:Class reference)"
            )
        _load_entry_point(entry_point)
    return _REGISTRY[name]


def get_sampler(name: str, **params: Any) -> Sampler:
    """A configured instance; unknown or invalid hyperparameters name the sampler."""
    cls = get_sampler_class(name)
    valid = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        accepted = f"valid parameters: {', '.join(valid)}" if valid else "it takes no parameters"
        raise SamplerError(
            f"sampler {name!r} got unknown parameter(s) {', '.join(unknown)}; {accepted}"
        )
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise SamplerError(f"sampler {name!r}: {exc}") from None


def origin(name: str) -> str:
    """Where ``name`` comes from: ``albench``, ``entry point …`` or ``reference …``."""
    get_sampler_class(name)
    return _ORIGINS[name]


def resolve(entry: str) -> type[Sampler]:
    """The class a config's ``samplers:`` entry denotes: a name or a ``module:Class`` reference."""
    if ":" not in entry:
        return get_sampler_class(entry)
    _load_builtins()
    target, _, attribute = entry.rpartition(":")
    if not target or not attribute.isidentifier():
        raise SamplerError(
            f"sampler reference {entry!r}: expected package.module:Class or path/to/file.py:Class"
        )
    try:
        module = _import_file(target) if target.endswith(".py") else importlib.import_module(target)
    except SamplerError:
        raise
    except Exception as exc:  # a plugin's import can fail in any way; name it
        raise SamplerError(
            f"sampler reference {entry!r}: importing {target!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    cls = getattr(module, attribute, None)
    if cls is None:
        raise SamplerError(
            f"sampler reference {entry!r}: {target!r} has no attribute {attribute!r}"
        )
    return register(cls, origin=f"reference {entry}")


def resolve_all(entries: list[str] | tuple[str, ...]) -> list[str]:
    """The sampler names of a config's ``samplers:`` list (references resolved)."""
    return [resolve(entry).name for entry in entries]


def score_samplers() -> list[type[Sampler]]:
    """Loaded samplers that rank by a per-candidate score, in name order."""
    _load_builtins()
    return [_REGISTRY[name] for name in sorted(_REGISTRY) if _REGISTRY[name].has_score()]


# ----------------------------------------------------------------------------- internals


def _load_builtins() -> None:
    """Import every module of :mod:`albench.samplers` so their ``@register`` decorators run."""
    global _loaded_builtins
    if _loaded_builtins:
        return
    _loaded_builtins = True
    import albench.samplers as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name not in ("base", "registry", "scores"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def _plugin_entry_points() -> dict[str, importlib.metadata.EntryPoint]:
    """Installed plugin entry points by name; a name claimed twice is an error naming both."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name
        if _ORIGINS.get(name) == BUILTIN:
            raise SamplerError(
                f"plugin {_plugin_label(entry_point)} declares sampler {name!r}, which is a "
                "built-in albench sampler; rename the plugin's sampler"
            )
        if name in found and found[name].value != entry_point.value:
            raise SamplerError(
                f"sampler {name!r} is declared by two plugins: {_plugin_label(found[name])} and "
                f"{_plugin_label(entry_point)}; uninstall or rename one"
            )
        found[name] = entry_point
    return found


def _load_entry_point(entry_point: importlib.metadata.EntryPoint) -> None:
    label = _plugin_label(entry_point)
    try:
        cls = entry_point.load()
    except Exception as exc:  # a plugin's import can fail in any way; name it
        raise SamplerError(
            f"plugin {label}: loading sampler {entry_point.name!r} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    if getattr(cls, "name", None) != entry_point.name:
        raise SamplerError(
            f"plugin {label}: entry point {entry_point.name!r} points to a class named "
            f"{getattr(cls, 'name', None)!r}; the entry-point name must equal Sampler.name"
        )
    register(cls, origin=f"entry point {label}")


def _plugin_label(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    package = f"{dist.name} {dist.version}" if dist is not None else "(unknown distribution)"
    return f"{package} ({entry_point.name} = {entry_point.value})"


def _import_file(target: str):
    path = Path(target).expanduser()
    if not path.is_file():
        raise SamplerError(
            f"sampler reference {target!r}: no such file (paths are relative to "
            f"the working directory {Path.cwd()})"
        )
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"albench_plugin_{re.sub(r'[^A-Za-z0-9_]', '_', path.stem)}_{digest}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _check_class(cls: Any, origin: str) -> None:
    where = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', cls)!s} ({origin})"
    if not (isinstance(cls, type) and issubclass(cls, Sampler)):
        raise SamplerError(f"{where} is not a subclass of albench.samplers.Sampler")
    name, summary = getattr(cls, "name", None), getattr(cls, "summary", None)
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise SamplerError(
            f"{where}: class attribute `name` must match {NAME_PATTERN.pattern} "
            f"(it becomes a folder name), got {name!r}"
        )
    if not isinstance(summary, str) or not summary.strip() or "\n" in summary:
        raise SamplerError(f"{where}: class attribute `summary` must be one line of text")
    if cls.role not in ROLES:
        raise SamplerError(f"{where}: role {cls.role!r} is not one of {', '.join(ROLES)}")
    if not dataclasses.is_dataclass(cls):
        raise SamplerError(f"{where}: decorate the class with @dataclass(frozen=True)")
    needs = cls.needs if not isinstance(cls.needs, property) else frozenset()
    bad = [need for need in needs if not isinstance(need, Need)]
    if bad:
        raise SamplerError(f"{where}: needs must be albench.samplers.Need values, got {bad}")


def _describe(name: str) -> str:
    cls = _REGISTRY[name]
    return f"{cls.__module__}.{cls.__qualname__} ({_ORIGINS[name]})"
