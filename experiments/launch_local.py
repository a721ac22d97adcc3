"""Start N training processes on this machine (loopback), as N hosts would run, and wait.

    python experiments/launch_local.py N CONFIG WORKDIR [--port P] [-- extra train flags]

Process i runs `python -m tanet_jax.train --config CONFIG --workdir WORKDIR
--coordinator=127.0.0.1:P --num_processes=N --process_id=i`, each with one CPU device. If one
process fails, the others are stopped and the exit code is the failed one's. Logs go to
WORKDIR/launch/process_i.log. On real hosts run the same command line once per host with the
coordinator's address instead.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(n: int, config: str, workdir: str, extra: list[str], port: int | None = None,
           timeout: float | None = None) -> int:
    """Run the N processes to completion; returns 0 or the first failure's exit code."""
    port = port or free_port()
    logs = Path(workdir) / "launch"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    env.pop("XLA_FLAGS", None)  # one CPU device per process, as one host each
    procs = []
    for i in range(n):
        cmd = [sys.executable, "-m", "tanet_jax.train", f"--config={config}", f"--workdir={workdir}",
               f"--coordinator=127.0.0.1:{port}", f"--num_processes={n}", f"--process_id={i}", *extra]
        log = open(logs / f"process_{i}.log", "w")
        procs.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    deadline = time.time() + timeout if timeout else None
    code = 0
    try:
        while any(p.poll() is None for p, _ in procs):
            failed = [p.returncode for p, _ in procs if p.returncode not in (None, 0)]
            if failed or (deadline and time.time() > deadline):
                code = failed[0] if failed else 124
                break
            time.sleep(0.2)
        else:
            code = next((p.returncode for p, _ in procs if p.returncode), 0)
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p, log in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()
    return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int)
    parser.add_argument("config")
    parser.add_argument("workdir")
    parser.add_argument("--port", type=int)
    parser.add_argument("extra", nargs="*", help="more flags for tanet_jax.train (after --)")
    args = parser.parse_args()
    code = launch(args.n, args.config, args.workdir, args.extra, args.port)
    print(f"{args.n} processes finished with exit code {code}; logs in {Path(args.workdir) / 'launch'}")
    return code


if __name__ == "__main__":
    sys.exit(main())
