"""Finding, loading and querying plugins.

Plugins come from the ``peftctl`` entry-point group (the core's built-ins included) and
from ``PEFTCTL_PLUGIN_PATH``. A plugin that fails to import, fails validation or raises in
a hook is recorded as failed and left out; everything else keeps working.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Generic, TypeVar

import pluggy

from peftctl import hookspecs
from peftctl.entry_points import EntryPoint, canonical_name, entry_points
from peftctl.errors import PeftctlError, unknown_name
from peftctl.specs import DatasetSpec, MethodSpec, MetricSpec, Spec
from peftctl.standard_packages import PACKAGE_OF, STANDARD, missing_packages, not_installed

GROUP = "peftctl"
PLUGIN_PATH_ENV = "PEFTCTL_PLUGIN_PATH"
DISABLE_ENV = "PEFTCTL_DISABLE_PLUGINS"
#: The package name of plugins from ``PEFTCTL_PLUGIN_PATH``.
LOCAL = "local"

S = TypeVar("S", bound=Spec)

# hook name -> the record type its results must be (str for recipe directories)
_HOOKS: dict[str, type] = {
    "peftctl_register_methods": MethodSpec,
    "peftctl_register_datasets": DatasetSpec,
    "peftctl_register_metrics": MetricSpec,
    "peftctl_recipe_dirs": str,
}


@dataclass
class PluginInfo:
    """What ``peftctl plugins`` shows about one plugin."""

    name: str
    package: str
    version: str
    source: str  # "module:attr" of the entry point, or the local file
    status: str = "ok"  # ok | failed | disabled
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    #: names it registers that another plugin registers too (``"method 'lora' also in 'x'"``):
    #: those names alone are unusable, so the plugin's status is unaffected
    conflicts: list[str] = field(default_factory=list)

    def failure_line(self) -> str:
        return f'failed to load plugin "{self.package}" ({self.name} = {self.source}): {self.error}'


@dataclass(frozen=True)
class _Candidate:
    """A plugin found but not yet imported."""

    name: str
    package: str
    version: str
    source: str
    load: Callable[[], Any]


class Catalogue(Generic[S]):
    """The registered records of one kind (methods, datasets or metrics), by name.

    A name two plugins register is a conflict: that name alone is unusable (its use says who
    clashes and how to disable one); every other name keeps working.
    """

    def __init__(
        self,
        kind: str,
        hint: str,
        owners: Mapping[str, list[tuple[S, str]]],
        failures: Sequence[PluginInfo] = (),
        missing: Mapping[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self._hint = hint
        self._owners = owners
        self._failures = list(failures)
        self._missing = missing or {}  # name -> the known package providing it, not installed

    def conflicts(self) -> dict[str, list[tuple[S, str]]]:
        """``{name: [(record, plugin name), ...]}`` of every name registered more than once."""
        return {name: owners for name, owners in self._owners.items() if len(owners) > 1}

    def conflict_error(self, name: str) -> PeftctlError:
        owners = self._owners[name]
        plugins = {plugin for _, plugin in owners}
        if len(plugins) == 1:  # one plugin returned the name twice: its own bug
            (spec, plugin), count = owners[0], len(owners)
            return PeftctlError(
                f"{self.kind} '{name}' is registered {count} times by plugin '{plugin}' "
                f"('{spec.owner}'); a plugin registers a name once: fix it, or skip it with "
                f"{DISABLE_ENV}={plugin}"
            )
        who = " and ".join(f"'{spec.owner}' (plugin '{plugin}')" for spec, plugin in owners)
        return PeftctlError(
            f"{self.kind} '{name}' is registered by both {who}; uninstall one or skip "
            f"one with {DISABLE_ENV}={owners[-1][1]}"
        )

    def all(self) -> list[S]:
        """Every usable record (conflicting names left out), sorted by name."""
        return [owners[0][0] for _, owners in sorted(self._owners.items()) if len(owners) == 1]

    def names(self) -> list[str]:
        """Every registered name, conflicting ones included."""
        return sorted(self._owners)

    def __contains__(self, name: object) -> bool:
        return name in self._owners

    def get(self, name: str) -> S:
        """The record called ``name``; unknown and conflicting names raise a one-line error."""
        if name not in self._owners:
            raise self._unknown(name)
        if len(self._owners[name]) > 1:
            raise self.conflict_error(name)
        return self._owners[name][0][0]

    def _unknown(self, name: str) -> PeftctlError:
        """Unknown: a failed plugin that looks like its provider is named, or the known package
        that provides it and is not installed, else a suggestion."""
        dist = PACKAGE_OF.get(name, f"peftctl-{name.replace('_', '-')}")
        for info in self._failures:
            if name in (info.name, info.package) or info.package == dist:
                plugin = info.source if info.package == LOCAL else info.package
                return PeftctlError(
                    f"{self.kind} '{name}' is unavailable: plugin {plugin} failed to load: "
                    f"{info.error}"
                )
        if name in self._missing:
            return PeftctlError(not_installed(self.kind, name, self._missing[name]))
        error = unknown_name(self.kind, name, self._owners, self._hint)
        if self._failures:
            failed = ", ".join(info.package for info in self._failures)
            error = PeftctlError(f"{error}; plugins that failed to load: {failed}")
        return error


class Plugins:
    """All plugins of this process: a small typed facade over pluggy."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._disabled = {n.strip() for n in env.get(DISABLE_ENV, "").split(",") if n.strip()}
        self._plugin_path = env.get(PLUGIN_PATH_ENV, "")
        self._pm = pluggy.PluginManager(GROUP)
        self._pm.add_hookspecs(hookspecs)
        self.infos: list[PluginInfo] = []
        self._results: dict[str, dict[str, list[Any]]] = {}
        for candidate in [*_entry_point_candidates(), *_local_candidates(self._plugin_path)]:
            self._register(candidate)
        self._collect()
        #: ``{method: package}`` of the known method packages that are not installed
        self.missing_methods = missing_packages({info.package for info in self.infos})
        self.methods: Catalogue[MethodSpec] = self._catalogue(
            "peftctl_register_methods", "method", "see `peftctl list-methods`", self.missing_methods
        )
        self.datasets: Catalogue[DatasetSpec] = self._catalogue(
            "peftctl_register_datasets", "dataset", "see `peftctl list-datasets`"
        )
        self.metrics: Catalogue[MetricSpec] = self._catalogue(
            "peftctl_register_metrics", "metric", "see `peftctl list-metrics`"
        )
        self._mark_conflicts()

    # -- discovery ---------------------------------------------------------------------
    def _register(self, candidate: _Candidate) -> None:
        info = PluginInfo(candidate.name, candidate.package, candidate.version, candidate.source)
        self.infos.append(info)
        if candidate.name in self._disabled or candidate.package in self._disabled:
            info.status = "disabled"
            return
        try:
            plugin = candidate.load()
            self._pm.register(plugin, name=candidate.name)
        except Exception as exc:
            self._fail(info, exc)
            return
        try:
            self._pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self._pm.unregister(plugin)
            self._fail(info, exc)
            return
        info.hooks = sorted(c.name for c in self._pm.get_hookcallers(plugin) or [])

    def _fail(self, info: PluginInfo, exc: BaseException) -> None:
        info.status = "failed"
        info.error = f"{type(exc).__name__}: {exc}".splitlines()[0]

    def _collect(self) -> None:
        """Call every hook of every plugin separately, so one raising is isolated."""
        by_name = {info.name: info for info in self.infos}
        for hook_name, cls in _HOOKS.items():
            hook = getattr(self._pm.hook, hook_name)
            for impl in hook.get_hookimpls():  # registration order: built-ins first
                info = by_name[impl.plugin_name]
                try:
                    result = [_stamp(item, cls, info) for item in impl.function() or []]
                except Exception as exc:
                    self._fail(info, exc)
                    continue
                self._results.setdefault(hook_name, {})[impl.plugin_name] = result
        failed = {i.name for i in self.failures()}
        for per_plugin in self._results.values():
            for name in failed & per_plugin.keys():
                del per_plugin[name]

    def _catalogue(
        self, hook: str, kind: str, hint: str, missing: Mapping[str, str] | None = None
    ) -> Catalogue[Any]:
        owners: dict[str, list[tuple[Any, str]]] = {}
        for plugin, specs in self._results.get(hook, {}).items():
            for spec in specs:
                owners.setdefault(spec.name, []).append((spec, plugin))
        return Catalogue(kind, hint, owners, self.failures(), missing)

    def _mark_conflicts(self) -> None:
        """Record on each plugin the names it shares with another plugin, per name: its
        status stays as it is, since every other name of it keeps working."""
        by_name = {info.name: info for info in self.infos}
        for catalogue in (self.methods, self.datasets, self.metrics):
            for name, owners in catalogue.conflicts().items():
                plugins = list(dict.fromkeys(plugin for _, plugin in owners))
                for plugin in plugins:
                    others = ", ".join(f"'{p}'" for p in plugins if p != plugin)
                    by_name[plugin].conflicts.append(
                        f"{catalogue.kind} '{name}' also in {others}"
                        if others
                        else f"{catalogue.kind} '{name}' registered {len(owners)} times"
                    )

    # -- queries -----------------------------------------------------------------------
    def conflicts(self) -> list[PeftctlError]:
        """One error per name two plugins register (methods, datasets, metrics)."""
        return [
            catalogue.conflict_error(name)
            for catalogue in (self.methods, self.datasets, self.metrics)
            for name in catalogue.conflicts()
        ]

    def failures(self) -> list[PluginInfo]:
        return [info for info in self.infos if info.status == "failed"]

    def recipe_sources(self) -> list[tuple[Path, PluginInfo]]:
        """``(recipe directory, its plugin)``, in discovery order: what a plugin's
        ``peftctl_recipe_dirs`` returns, else its package's ``recipes/`` when there is one."""
        per_plugin = self._results.get("peftctl_recipe_dirs", {})
        sources = []
        for info in self.infos:
            if info.status != "ok":
                continue
            if info.name in per_plugin:
                sources += [(Path(folder), info) for folder in per_plugin[info.name]]
                continue
            folder = implicit_recipe_dir(self._pm.get_plugin(info.name))
            if folder is not None:
                sources.append((folder, info))
        return sources


def plugin_recipe_dir(plugin_file: str) -> Path:
    """A plugin package's ``recipes/``: inside the installed wheel, beside the module
    ``plugin_file``, or beside ``src/`` in a source checkout."""
    package = Path(plugin_file).resolve().parent
    installed = package / "recipes"
    return installed if installed.is_dir() else package.parent.parent / "recipes"


def implicit_recipe_dir(plugin: Any) -> Path | None:
    """The ``recipes/`` folder of a plugin module's package (inside its wheel, or beside
    ``src/`` in a source checkout), or beside a plugin file; None when there is none."""
    module_file = getattr(plugin, "__file__", None)
    if not module_file or getattr(plugin, "__name__", "").startswith("peftctl."):
        return None  # the core registers its own recipes
    folder = plugin_recipe_dir(module_file)
    return folder if folder.is_dir() else None


def _stamp(item: Any, cls: type, info: PluginInfo) -> Any:
    """Check a hook result's type and fields; give records their owner's package and version."""
    if not isinstance(item, cls):
        raise TypeError(f"hook returned {type(item).__name__}, expected {cls.__name__}")
    if isinstance(item, Spec):
        item.validate()
        return dataclasses.replace(item, package=info.package, version=info.version)
    return item


def _entry_point_candidates() -> Iterator[_Candidate]:
    """Entry points of the ``peftctl`` group, read from metadata without importing."""
    for ep in sorted(entry_points(GROUP), key=_builtin_first):
        yield _Candidate(ep.name, ep.dist, ep.version, ep.value, ep.load)


def _builtin_first(ep: EntryPoint) -> tuple[int, str]:
    """The core's own plugins, then the standard method packages, then the rest: a name
    clash then names the newcomer as the one to disable."""
    if ep.value.startswith("peftctl."):
        return (0, ep.name)
    return (1 if canonical_name(ep.dist) in _STANDARD_NAMES else 2, ep.name)


_STANDARD_NAMES = frozenset(canonical_name(name) for name in STANDARD)


def _local_candidates(plugin_path: str) -> Iterator[_Candidate]:
    """Plugins from ``PEFTCTL_PLUGIN_PATH``: ``.py`` files, packages, or folders of them."""
    for entry in filter(None, plugin_path.split(os.pathsep)):
        path = Path(entry).expanduser()
        if path.is_dir() and not (path / "__init__.py").exists():
            children = sorted(p for p in path.iterdir() if _is_module(p))
            yield from (_local_candidate(child) for child in children)
        else:
            yield _local_candidate(path)


def _is_module(path: Path) -> bool:
    if path.name.startswith(("_", ".")):
        return False
    return path.suffix == ".py" or (path / "__init__.py").exists()


def _local_candidate(path: Path) -> _Candidate:
    name = path.stem
    return _Candidate(name, LOCAL, "", str(path), lambda: _import_path(path))


def _import_path(path: Path) -> ModuleType:
    if not path.exists():
        raise FileNotFoundError(f"{PLUGIN_PATH_ENV} entry {path} does not exist")
    module_name = f"peftctl_local_{path.stem}"
    if path.is_dir():
        spec = importlib.util.spec_from_file_location(
            module_name, path / "__init__.py", submodule_search_locations=[str(path)]
        )
    else:
        spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@cache
def get_plugins() -> Plugins:
    """The process-wide plugin set (tests build fresh :class:`Plugins` instead)."""
    return Plugins()
