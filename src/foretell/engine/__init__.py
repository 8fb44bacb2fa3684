"""The deterministic engine. Its hot modules may be compiled by mypyc (see setup.py); a compiled
module older than its source would silently run old code, so importing one is refused."""

import pathlib as _pathlib

_here = _pathlib.Path(__file__).parent
for _so in _here.glob("*.so"):
    _py = _here / (_so.name.split(".")[0] + ".py")
    if _py.exists() and _py.stat().st_mtime > _so.stat().st_mtime:
        raise ImportError(f"{_so.name} is older than {_py.name}: rebuild with `make install` "
                          f"(or delete src/foretell/engine/*.so to run uncompiled)")
