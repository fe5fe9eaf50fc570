"""The package layout follows the data flow: imports point upstream only."""

from __future__ import annotations

import subprocess
import sys

import pytest

# package -> packages it must never import (they sit downstream of it)
DOWNSTREAM = {
    "movierep.video": ["movierep.models", "movierep.pretrain", "movierep.train", "movierep.cli"],
    "movierep.models": ["movierep.data", "movierep.pretrain", "movierep.train", "movierep.cli"],
    "movierep.losses": ["movierep.data", "movierep.pretrain", "movierep.train", "movierep.cli"],
    "movierep.train": ["movierep.features", "movierep.eval", "movierep.cli"],
    "movierep.pretrain": ["movierep.features", "movierep.eval", "movierep.cli"],
}


@pytest.mark.parametrize("package", sorted(DOWNSTREAM))
def test_package_imports_alone_and_never_downstream(package: str) -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        f"pkg = importlib.import_module({package!r})\n"
        "for m in pkgutil.iter_modules(pkg.__path__):\n"
        f"    importlib.import_module({package!r} + '.' + m.name)\n"
        "print('\\n'.join(sorted(n for n in sys.modules if n.startswith('movierep'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = proc.stdout.split()
    for banned in DOWNSTREAM[package]:
        assert not [m for m in loaded if m == banned or m.startswith(banned + ".")], banned
