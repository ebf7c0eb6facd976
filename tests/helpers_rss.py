"""The peak memory of a command, measured so that the test process's own size cannot leak in.

Linux counts a process's peak RSS from the memory it had before ``exec``: a child forked by
a big pytest process (torch loaded) starts with the parent's peak. So the command is run by
a small launcher interpreter, which forks it from its own small memory and reports the
command's ``wait4`` rusage to a file.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LAUNCHER = r"""
import json, os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
with open(sys.argv[1], "w") as handle:
    json.dump({"returncode": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss}, handle)
"""


def start_measured(cmd: list[str], report: Path, **popen_kwargs) -> subprocess.Popen:
    """Start ``cmd`` under the launcher; :func:`measured_result` reads its exit code and peak."""
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, str(report), *map(str, cmd)], **popen_kwargs)


def measured_result(report: Path) -> tuple[int, float]:
    """(exit code, peak RSS in MB) of a command started by :func:`start_measured` that has ended."""
    doc = json.loads(Path(report).read_text())
    return doc["returncode"], doc["peak_kb"] / 1024.0
