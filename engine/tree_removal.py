"""Removing a directory tree, best effort, without `shutil`: importing it (with bz2 and lzma
for its archive helpers) cost a `run --rm` ~3-5 ms of CPU at the end of every one-off, where
the CLI removes the container's record directory."""

from __future__ import annotations

import contextlib
import os


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove `path` and everything below it, as `shutil.rmtree(path, ignore_errors=True)`:
    symbolic links are removed, never followed (a link at `path` itself is left alone), and
    whatever cannot be removed stays without a word."""
    with contextlib.suppress(OSError):
        for _top, dirs, files, top_fd in os.fwalk(path, topdown=False):
            for name in files:
                with contextlib.suppress(OSError):
                    os.unlink(name, dir_fd=top_fd)
            for name in dirs:
                _remove_directory_entry(name, top_fd)
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _remove_directory_entry(name: str, dir_fd: int) -> None:
    """An entry os.fwalk lists as a directory: emptied already, or a symbolic link to one
    (listed there, never walked into)."""
    try:
        os.rmdir(name, dir_fd=dir_fd)
    except NotADirectoryError:
        with contextlib.suppress(OSError):
            os.unlink(name, dir_fd=dir_fd)
    except OSError:
        pass
