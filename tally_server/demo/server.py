"""``tally-server serve`` as a child process on 127.0.0.1, and the other
``tally-server`` commands the demo runs the way a committee would."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tally_server.demo.errors import DemoError

START_TIMEOUT = 30.0


def tally_server_command(*args: str | Path) -> list[str]:
    """``tally-server ARGS`` with this interpreter, whatever is on PATH."""
    return [sys.executable, "-m", "tally_server", *map(str, args)]


def run_command(*args: str | Path, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run a ``tally-server`` command with its output captured (the terminal may
    belong to the dashboard)."""
    return subprocess.run(
        tally_server_command(*args),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


class ServerProcess:
    """The server, started on a free port (or ``port``), logs in ``log_path``."""

    def __init__(self, folder: Path, log_path: Path, port: int = 0) -> None:
        self.folder = folder
        self.log_path = log_path
        self.port = port
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> str:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                tally_server_command(
                    "serve", "--dir", self.folder, "--host", "127.0.0.1", "--port", str(self.port)
                ),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
            )
        stdout = self.process.stdout
        assert stdout is not None
        # readline blocks: a timer ends a server that never says it listens
        timer = threading.Timer(START_TIMEOUT, self.process.kill)
        timer.start()
        try:
            for line in stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("event") == "listening":
                    self.url = str(event["url"])
                    return self.url
        finally:
            timer.cancel()
        code = self.process.wait()
        raise DemoError(
            en=f"The server did not start (exit {code}); its log is {self.log_path}.",
            vi=f"Máy chủ không khởi động được (mã thoát {code}); xem nhật ký {self.log_path}.",
            code="X200",
            figures={"exit": code, "log": str(self.log_path)},
        )

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM, as an operator would; the server finishes its writes and exits."""
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        return process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
