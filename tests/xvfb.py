"""A private X server (Xvfb) for tests that need the real xcb platform: key bindings, window focus,
keys sent by xdotool as a person's keyboard would (Qt's offscreen platform maps some standard keys
differently from X11, so a test there can pass where Linux fails)."""

from __future__ import annotations

import os
import shutil
import subprocess


def missing_reason() -> str | None:
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (Debian package xvfb): the real xcb platform cannot be started"
    return None


class Xvfb:
    """``Xvfb`` on a free display (it picks one and tells us through ``-displayfd``)."""

    def __init__(self, width: int = 1366, height: int = 768) -> None:
        self.size = (width, height)
        self.process: subprocess.Popen | None = None
        self.display = ""

    def start(self, timeout_s: float = 20.0) -> str:
        read_fd, write_fd = os.pipe()
        width, height = self.size
        self.process = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        if not number:
            self.stop()
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        return self.display

    def env(self) -> dict[str, str]:
        env = dict(os.environ, DISPLAY=self.display, QT_QPA_PLATFORM="xcb")
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
