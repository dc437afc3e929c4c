"""The parser reads no file but its grammar: lark's on-disk cache is a pickle, and
unpickling a file another user could write runs their code. A fresh process builds the
parse tables itself, whatever the cache variables say (a relative XDG_CACHE_HOME, a
planted cache file, no HOME at all)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = r"""
import json, sys
opened, unpickled = [], []

def audit(event, args):
    if event == "open" and isinstance(args[0], str):
        opened.append(args[0])
    elif event == "pickle.find_class":
        unpickled.append(args)

sys.addaudithook(audit)
from ddc.dsl.parser import parse
module = parse("def f(x: f32) -> f32:\n    return x\n", "m.dd")
grammar_files = [p for p in opened if not p.endswith((".py", ".pyc", ".so", ".pth", "grammar.lark"))]
print(json.dumps({"functions": [f.name for f in module.functions], "unpickled": len(unpickled),
                  "opened": grammar_files}))
"""


def probe(tmp_path, **env_changes) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HOME", "XDG_CACHE_HOME")}
    env.update({k: v for k, v in env_changes.items() if v is not None})
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_parsing_reads_and_writes_no_cache(tmp_path):
    home = tmp_path / "home"
    (home / ".cache" / "ddc").mkdir(parents=True)
    planted = home / ".cache" / "ddc" / "grammar.lark-cache"  # where the old cache lived
    planted.write_bytes(b"0" * 32 + b"\n" + b"cos\nsystem\n(S'touch pwned'\ntR.")
    before = files_under(tmp_path)
    result = probe(tmp_path, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(tmp_path))
    assert result == {"functions": ["f"], "unpickled": 0, "opened": []}
    assert files_under(tmp_path) == before  # nothing written (and the payload never ran)


def test_a_relative_cache_home_or_no_home_is_no_error(tmp_path):
    for env in ({"XDG_CACHE_HOME": "relative/cache"}, {"XDG_CACHE_HOME": "", "HOME": None}):
        assert probe(tmp_path, **env)["functions"] == ["f"]
    assert files_under(tmp_path) == []
