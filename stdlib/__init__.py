"""The standard library: `.dd` modules (losses, metric, sets, layers) in this folder.

A `.dd` file imports them by name (`import losses`, `from layers import lora_linear`);
from Python, `ddc.stdlib.load("losses")` gives the module with its functions callable.
"""
from pathlib import Path

FOLDER = Path(__file__).parent


def load(name: str):
    """The stdlib module `name` (e.g. "losses"), loaded as `ddc.load` would a file."""
    from ddc.api import load as load_file  # here, not at the top: ddc.dsl imports this package

    return load_file(FOLDER / f"{name}.dd")
