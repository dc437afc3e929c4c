"""Global switches, like `jax.config`.

    ddc.config(debug_nans=True)              # from now on
    with ddc.config(debug_nans=True):        # only inside the block
        f(x)
    ddc.config.debug_nans                    # the current setting

`debug_nans` (default: the environment variable DDC_DEBUG_NANS=1): compiled functions run
a checking variant of their numpy code, which raises `ddc.NumericsError` at the first node
that produces a NaN (or an inf from finite inputs), with its line of `.dd` source. The
normal code is untouched; the variant is generated and cached separately
(`codegen/numpy_debug.py`).
"""
from __future__ import annotations

import os


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class Config:
    def __init__(self):
        self.debug_nans = _env_flag("DDC_DEBUG_NANS")

    def __call__(self, **options) -> "_Restore":
        """Set options; returns a context manager that puts the old values back on exit."""
        previous = {}
        for name, value in options.items():
            if name not in vars(self):
                raise TypeError(f"ddc.config has no option {name!r}; options: {', '.join(vars(self))}")
            if not isinstance(value, bool):
                raise TypeError(f"ddc.config({name}=...) takes True or False, got {value!r}")
            previous[name] = getattr(self, name)
        vars(self).update(options)
        return _Restore(self, previous)

    def __repr__(self) -> str:
        return f"ddc.config({', '.join(f'{k}={v}' for k, v in vars(self).items())})"


class _Restore:
    def __init__(self, config: Config, previous: dict):
        self.config, self.previous = config, previous

    def __enter__(self) -> Config:
        return self.config

    def __exit__(self, *exc) -> None:
        vars(self.config).update(self.previous)


config = Config()
