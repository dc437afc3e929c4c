"""Switches, like `jax.config`, set per thread (and per asyncio task).

    ddc.config(debug_nans=True)              # from now on, in this thread
    with ddc.config(debug_nans=True):        # only inside the block
        f(x)
    ddc.config.debug_nans                    # the current setting

A setting lives in a `contextvars.ContextVar`: it holds in the thread (or task) that made
it, and in the asyncio tasks that thread starts afterwards (which copy its context); a
`with` block puts back exactly what its thread had, whatever other threads do meanwhile.
A thread that set nothing sees the process default, read from the environment at import.
Threads start without their creator's settings (as with `decimal` contexts); to hand
them on, run the thread's target in `contextvars.copy_context().run`.

`debug_nans` (default: the environment variable DDC_DEBUG_NANS=1): compiled functions run
a checking variant of their numpy code, which raises `ddc.NumericsError` at the first node
that produces a NaN (or an inf from finite inputs), with its line of `.dd` source. The
normal code is untouched; the variant is generated and cached separately
(`codegen/numpy/debug.py`).
"""
from __future__ import annotations

import os
from contextvars import ContextVar, Token
from types import MappingProxyType


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


DEFAULTS = MappingProxyType({"debug_nans": _env_flag("DDC_DEBUG_NANS")})

# this context's options (all of them, or None: the defaults); replaced, never mutated
_SETTINGS: ContextVar[MappingProxyType | None] = ContextVar("ddc_config", default=None)


class Config:
    def __call__(self, **options) -> _Restore:
        """Set options in this thread; returns a context manager that puts the old values
        back on exit."""
        for name, value in options.items():
            if name not in DEFAULTS:
                raise TypeError(f"ddc.config has no option {name!r}; options: {', '.join(DEFAULTS)}")
            if not isinstance(value, bool):
                raise TypeError(f"ddc.config({name}=...) takes True or False, got {value!r}")
        return _Restore(_SETTINGS.set(MappingProxyType({**self._current(), **options})))

    @staticmethod
    def _current():
        return _SETTINGS.get() or DEFAULTS

    def __getattr__(self, name: str):
        current = self._current()
        if name not in current:
            raise AttributeError(f"ddc.config has no option {name!r}; options: {', '.join(DEFAULTS)}")
        return current[name]

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"set options with ddc.config({name}=...)")

    def __repr__(self) -> str:
        return f"ddc.config({', '.join(f'{k}={v}' for k, v in self._current().items())})"


class _Restore:
    def __init__(self, token: Token):
        self.token = token

    def __enter__(self) -> Config:
        return config

    def __exit__(self, *exc) -> None:
        _SETTINGS.reset(self.token)


config = Config()
