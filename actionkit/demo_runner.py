"""`make demo`'s last step: run the web server, a Celery worker and beat together; Ctrl-C stops all three.

With no ACTIONKIT_GEOCODER__census_url set, it also runs the fake Census geocoder (recorded-format responses,
tests/data/census) so the demo works offline; `make demo GEOCODER=live` uses the real Census service. Links in
e-mails (written by the worker, outside any request) point at the address the demo serves, unless
ACTIONKIT_PUBLIC_URL says otherwise."""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def public_url(host: str, port: str | int) -> str:
    """The address the demo's web server answers on, as a browser types it."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    parser.add_argument("--geocoder", choices=("fake", "live"), default="fake")
    parser.add_argument("--geocoder-port", default="8089")
    args = parser.parse_args(argv)
    py = sys.executable
    os.environ.setdefault("ACTIONKIT_PUBLIC_URL", public_url(args.host, args.port))
    commands: dict[str, list[str]] = {}
    if args.geocoder == "fake" and not os.environ.get("ACTIONKIT_GEOCODER__census_url"):
        commands["geocoder"] = [py, "-m", "actionkit.officials.fake_geocoder", "--port", str(args.geocoder_port)]
        os.environ["ACTIONKIT_GEOCODER__census_url"] = f"http://127.0.0.1:{args.geocoder_port}/geocoder"
    commands |= {
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
    print(f"actionkit demo: {os.environ['ACTIONKIT_PUBLIC_URL']}/healthz  (Ctrl-C stops them all)",
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
    # SIGTERM to each leader only: the Celery worker stops its own pool (pool processes signalled directly are
    # logged as ERRORs). Whatever is left in a group after 20 s, or after its leader exited, is killed.
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:  # the group is already empty
            pass
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
