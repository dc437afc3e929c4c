"""Type-check the package with mypy: `python .ci/typecheck.py` (extra args go to mypy).

The import package `ddc` is assembled from top-level folders by `package-dir` in
pyproject.toml (`ddc.ir` is `ir/`, ...), which mypy cannot follow. So this script mirrors
that layout as symlinks under `.mypy_cache/ddc-tree/`, checks the tree with the settings
of `[tool.mypy]`, and prints each finding at its path in the repository.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]  # the same API under its old name

from mypy import api

ROOT = Path(__file__).resolve().parents[1]
TREE = ROOT / ".mypy_cache" / "ddc-tree"


def package_dirs() -> dict[str, str]:
    """Each package's folder, relative to the root, outermost first: its own `package-dir`
    entry, else its nearest listed ancestor's folder with the rest of its name (as
    setuptools finds it)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    where = setuptools.get("package-dir", {})

    def folder(package: str) -> str:
        parts = package.split(".")
        for k in range(len(parts), 0, -1):
            if (head := ".".join(parts[:k])) in where:
                return "/".join([where[head], *parts[k:]])
        return "/".join(parts)

    dirs = {p: folder(p) for p in setuptools["packages"]}
    return dict(sorted(dirs.items(), key=lambda item: item[0].count(".")))


def build_tree(dirs: dict[str, str]) -> dict[str, str]:
    """Symlink every package's modules at its import path; the link prefixes to undo."""
    shutil.rmtree(TREE, ignore_errors=True)
    back: dict[str, str] = {}
    for package, folder in dirs.items():
        target = TREE.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for module in sorted((ROOT / folder).glob("*.py")):
            (target / module.name).symlink_to(module)
        back[f"{target.relative_to(ROOT)}{os.sep}"] = f"{folder}{os.sep}"
    return dict(sorted(back.items(), key=lambda item: -len(item[0])))


def main(args: list[str]) -> int:
    back = build_tree(package_dirs())
    stdout, stderr, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                      *args, str(TREE.relative_to(ROOT) / "ddc")])
    for line in stdout.splitlines():
        for link, real in back.items():
            if line.startswith(link):
                line = real + line[len(link):]
                break
        print(line)
    print(stderr, end="", file=sys.stderr)
    return status


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main(sys.argv[1:]))
