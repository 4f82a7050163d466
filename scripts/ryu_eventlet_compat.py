"""Let the stock ``ryu-manager`` start with a modern eventlet on Python 3.11.

Ryu 4.34's ``ryu.app.wsgi`` imports ``eventlet.wsgi.ALREADY_HANDLED``, which
every eventlet from 0.30.3 on no longer defines, so ``ryu-manager`` dies at
start-up.  Eventlet 0.30.2 (the last release that has it) crashes on Python
3.11, so we keep a working eventlet and put the attribute back.

``scripts/setup.sh`` copies this file into the venv's site-packages and adds
a ``.pth`` line that imports it, so it runs at interpreter start-up.  It does
not import eventlet itself (that would slow every Python start and change
import order); it installs a meta-path hook that sets the attribute right
after ``eventlet.wsgi`` is first imported.
"""
import importlib.abc
import importlib.machinery
import sys

_TARGET = "eventlet.wsgi"


class _Loader(importlib.abc.Loader):
    def __init__(self, wrapped):
        self._wrapped = wrapped

    def create_module(self, spec):
        return self._wrapped.create_module(spec)

    def exec_module(self, module):
        self._wrapped.exec_module(module)
        if not hasattr(module, "ALREADY_HANDLED"):
            module.ALREADY_HANDLED = []


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname != _TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
