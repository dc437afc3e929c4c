"""Opening the user's files: regular files only, never blocking, never reading without bound.

`ddc check /dev/zero` would read forever and a FIFO would block the open; both are refused
before a byte is read. The file is checked by path (`os.stat`) before it is opened, and the
opened descriptor again (`os.fstat`), so a path swapped in between is still caught; the
open is non-blocking, so even a FIFO that appears in between cannot hang it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SOURCE_BYTES = 10 * 1024 * 1024  # a .dd file larger than this is refused unread


class UnreadableFile(ValueError):
    """A path that is not a regular file, or a file over its size limit."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "something else"


def _check_regular(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFile(f"cannot read {path}: it is {_kind(st.st_mode)}, not a regular file")


def open_regular(path: Path):
    """`path` opened for binary reading, once it is known to be a regular file; its size."""
    _check_regular(path, os.stat(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        _check_regular(path, st)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of regular file `path`, refused when it holds more than `limit`."""
    file, size = open_regular(path)
    with file:
        if size > limit:
            raise UnreadableFile(f"cannot read {path}: it has {size:,} bytes, over the limit of {limit:,}")
        data = file.read(limit + 1)  # the file may have grown since fstat
    if len(data) > limit:
        raise UnreadableFile(f"cannot read {path}: it has over {limit:,} bytes, the limit")
    return data
