"""`make demo`'s last step: run the web server, a Celery worker and beat together; Ctrl-C stops all three."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    args = parser.parse_args(argv)
    py = sys.executable
    commands = {
        "web": [py, "-m", "flask", "--app", "actionkit", "run", "--host", args.host, "--port", str(args.port)],
        "worker": [py, "-m", "celery", "-A", "actionkit.worker", "worker", "--loglevel=INFO", "--concurrency=2"],
        "beat": [py, "-m", "celery", "-A", "actionkit.worker", "beat", "--loglevel=INFO"],
    }
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for name, cmd in commands.items():
        procs[name] = subprocess.Popen(cmd, start_new_session=True)
    print(f"actionkit demo: http://{args.host}:{args.port}/healthz  (Ctrl-C stops web, worker and beat)",
          flush=True)
    exit_code = 0
    while not stopping:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"actionkit demo: {name} exited with {proc.returncode}; stopping the others", flush=True)
                exit_code = proc.returncode or 1
                stopping = True
                break
        time.sleep(0.5)
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
