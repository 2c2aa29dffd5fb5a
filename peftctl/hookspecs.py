"""The hook contract between peftctl and its plugins.

A plugin is a module (or object) with functions decorated by :data:`peftctl.hookimpl`
whose names match the specs below. Every hook is called once per plugin and its
results are collected (none stops at the first result). Hooks must be cheap: they
return records, never import torch or build models.
"""

from __future__ import annotations

import pluggy

from peftctl.specs import DatasetSpec, MethodSpec, MetricSpec

hookspec = pluggy.HookspecMarker("peftctl")


@hookspec
def peftctl_register_methods() -> list[MethodSpec]:
    """Return the PEFT methods this plugin provides.

    :return: a list of :class:`~peftctl.specs.MethodSpec`; names must be unique
        across all installed plugins.
    """


@hookspec
def peftctl_register_datasets() -> list[DatasetSpec]:
    """Return the datasets this plugin provides.

    :return: a list of :class:`~peftctl.specs.DatasetSpec`.
    """


@hookspec
def peftctl_register_metrics() -> list[MetricSpec]:
    """Return the metrics this plugin provides.

    :return: a list of :class:`~peftctl.specs.MetricSpec`.
    """


@hookspec
def peftctl_recipe_dirs() -> list[str]:
    """Return directories holding this plugin's YAML recipes (``<method>_<dataset>.yaml``).

    Optional: without it, the ``recipes/`` folder of the plugin's package is used (inside
    the wheel, or beside ``src/`` in a source checkout).

    :return: a list of directory paths; recipes inside are found by file name.
    """
