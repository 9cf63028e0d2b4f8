"""`make demo`'s last step: run the web server, a Celery worker and beat together; Ctrl-C stops all three.

With no ACTIONKIT_GEOCODER__census_url set, it also runs the fake Census geocoder (recorded-format responses,
tests/data/census) so the demo works offline; `make demo GEOCODER=live` uses the real Census service. With no
ACTIONKIT_CWC__house_url set, it runs the local CWC stand-in (actionkit.delivery.fake_cwc) as "CWC (test server)",
so letters to Congress are delivered through it; with no ACTIONKIT_LOB__api_key, the Lob and fax stand-in
(actionkit.delivery.fake_lob) for postal mail and fax. Links in e-mails (written by the worker, outside any
request) point at the address the demo serves, unless ACTIONKIT_PUBLIC_URL says otherwise."""
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


# The stand-in's key and delivery agent (made up; the real ones come with the House's vendor approval).
DEMO_CWC = {"api_key": "demo-key", "delivery_agent": "actionkit demo", "delivery_agent_ack_email": "ack@example.org",
            "delivery_agent_contact_name": "Demo Operator", "delivery_agent_contact_email": "ops@example.org",
            "delivery_agent_contact_phone": "601-555-0100"}

DEMO_LOB = {"api_key": "test_demo", "webhook_secret": "demo-lob-webhook-secret", "from_name": "actionkit demo",
            "from_address": "1 Example St, Jackson, MS 39201"}
DEMO_FAX_SECRET = "whsec_ZGVtby1mYXgtc2VjcmV0LWZvci10aGUtc3RhbmQtaW4="


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    parser.add_argument("--geocoder", choices=("fake", "live"), default="fake")
    parser.add_argument("--geocoder-port", default="8089")
    parser.add_argument("--cwc-port", default="8091")
    parser.add_argument("--lob-port", default="8092")
    args = parser.parse_args(argv)
    py = sys.executable
    os.environ.setdefault("ACTIONKIT_PUBLIC_URL", public_url(args.host, args.port))
    commands: dict[str, list[str]] = {}
    if args.geocoder == "fake" and not os.environ.get("ACTIONKIT_GEOCODER__census_url"):
        commands["geocoder"] = [py, "-m", "actionkit.officials.fake_geocoder", "--port", str(args.geocoder_port)]
        os.environ["ACTIONKIT_GEOCODER__census_url"] = f"http://127.0.0.1:{args.geocoder_port}/geocoder"
    if not os.environ.get("ACTIONKIT_CWC__house_url"):
        commands["cwc"] = [py, "-m", "actionkit.delivery.fake_cwc", "--port", str(args.cwc_port),
                           "--api-key", DEMO_CWC["api_key"], "--agent", DEMO_CWC["delivery_agent"]]
        os.environ["ACTIONKIT_CWC__house_url"] = f"http://127.0.0.1:{args.cwc_port}"
        for key, value in DEMO_CWC.items():
            os.environ.setdefault(f"ACTIONKIT_CWC__{key}", value)
    if not os.environ.get("ACTIONKIT_LOB__api_key"):
        commands["lob"] = [py, "-m", "actionkit.delivery.fake_lob", "--port", str(args.lob_port),
                           "--api-key", DEMO_LOB["api_key"], "--fax-secret", DEMO_FAX_SECRET]
        base = f"http://127.0.0.1:{args.lob_port}"
        os.environ.update({"ACTIONKIT_LOB__base_url": f"{base}/v1", "ACTIONKIT_FAX__url": f"{base}/fax",
                           "ACTIONKIT_FAX__secret": DEMO_FAX_SECRET})
        for key, value in DEMO_LOB.items():
            os.environ.setdefault(f"ACTIONKIT_LOB__{key}", value)
    commands |= {
        "web": [py, "-m", "flask", "--app", "actionkit", "run", "--host", args.host, "--port", str(args.port)],
        "worker": [py, "-m", "celery", "-A", "actionkit.worker", "worker", "--loglevel=INFO", "--concurrency=2",
                   "-Q", "celery,webhooks"],  # one worker for letters and webhooks in the demo; production has two
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
