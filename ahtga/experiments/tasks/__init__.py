"""Experiment tasks, one file each, registered by name (``registry.register_task``).

Every module here is imported on the first task lookup (``registry.load_plugins``); a module
registers its task and, if it wants, presets and optimizer variants beside it.  See
:mod:`ahtga.experiments` for how to add one.  Task modules import ``registry`` (never
``presets``), so the preset table can load them without an import cycle.
"""
