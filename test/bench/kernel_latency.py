"""How long the seqlab kernel makes a notebook user wait, measured as a Jupyter client sees it.

usage: /usr/bin/python3 test/bench/kernel_latency.py [--kernel NAME] [--reps N] [--pause-ms MS]

Starts the kernel NAME (default "seqlab", the kernelspec `npm run kernel:install` registers)
with jupyter_client in notebooks/ (where a notebook's kernel runs) and times, from the
client's side (request sent → reply received):
- start: starting the kernel process → the first kernel_info_reply (the kernel is ready);
- trivial_before: a trivial cell `1 + 1` before seqlab is imported;
- import_init: the first code cell of notebooks/01-*.ipynb, which imports seqlab and awaits
  initBackend() (the cell every notebook opens with);
- trivial_after: N trivial cells after that (median, max and all of them).
--pause-ms waits that long after the kernel is ready before the first cell (a user reading
the notebook); the default 0 runs the cells at once, the worst case.

Prints one JSON object on stdout. Cells that fail stop the run with their error.
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time
from queue import Empty

from jupyter_client.manager import KernelManager

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
TIMEOUT_S = 120
TRIVIAL = "1 + 1"


def first_code_cell():
    """The first code cell of notebook 01: the import + initBackend cell."""
    paths = sorted(glob.glob(os.path.join(NOTEBOOKS, "01-*.ipynb")))
    if not paths:
        sys.exit(f"kernel_latency: no notebooks/01-*.ipynb under {NOTEBOOKS}")
    with open(paths[0], encoding="utf-8") as f:
        nb = json.load(f)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            if 'from "seqlab"' not in source or "initBackend" not in source:
                sys.exit(f"kernel_latency: the first code cell of {paths[0]} does not import seqlab and call initBackend:\n{source}")
            return source
    sys.exit(f"kernel_latency: {paths[0]} has no code cell")


def reply_to(kc, msg_id):
    """The shell reply to msg_id (earlier replies are skipped)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no reply to {msg_id} within {TIMEOUT_S} s")
        reply = kc.get_shell_msg(timeout=left)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def wait_ready(kc):
    """Sends kernel_info_request until one is answered (the first may be sent before the kernel listens)."""
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        msg_id = kc.kernel_info()
        try:
            while True:
                reply = kc.get_shell_msg(timeout=0.25)
                if reply["parent_header"].get("msg_id") == msg_id:
                    return
        except Empty:
            continue
    raise TimeoutError(f"the kernel did not answer kernel_info within {TIMEOUT_S} s")


def timed_cell(kc, code):
    """Milliseconds from sending execute_request to receiving its execute_reply."""
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    reply = reply_to(kc, msg_id)
    ms = (time.perf_counter() - t0) * 1000
    content = reply["content"]
    if content["status"] != "ok":
        raise RuntimeError(f"cell failed: {code!r}\n{content.get('ename')}: {content.get('evalue')}")
    return ms


def drain_iopub(kc):
    """Empties the iopub queue so it does not grow over the run."""
    try:
        while True:
            kc.get_iopub_msg(timeout=0)
    except Empty:
        pass


def check_kernelspec(km, kernel):
    """Stops with the fix when the kernelspec runs a file that is not there (a moved checkout)."""
    for arg in km.kernel_spec.argv[1:]:
        if os.path.isabs(arg) and not os.path.exists(arg):
            sys.exit(f"kernel_latency: the kernelspec {kernel!r} runs {arg}, which does not exist: run `npm run kernel:install`")


def measure(kernel, reps, pause_ms):
    km = KernelManager(kernel_name=kernel)
    check_kernelspec(km, kernel)
    t0 = time.perf_counter()
    km.start_kernel(cwd=NOTEBOOKS)
    kc = km.client()
    kc.start_channels()
    try:
        wait_ready(kc)
        start_ms = (time.perf_counter() - t0) * 1000
        time.sleep(pause_ms / 1000)
        trivial_before = timed_cell(kc, TRIVIAL)
        import_init = timed_cell(kc, first_code_cell())
        after = []
        for _ in range(reps):
            after.append(timed_cell(kc, TRIVIAL))
            drain_iopub(kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return {
        "kernel": kernel,
        "pause_ms": pause_ms,
        "start_ms": round(start_ms, 1),
        "import_init_ms": round(import_init, 1),
        "trivial_before_ms": round(trivial_before, 1),
        "trivial_after_ms": {
            "median": round(statistics.median(after), 1),
            "max": round(max(after), 1),
            "all": [round(t, 1) for t in after],
        },
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernel", default="seqlab", help="kernelspec name (default: seqlab)")
    parser.add_argument("--reps", type=int, default=20, help="trivial cells after the import (default: 20)")
    parser.add_argument("--pause-ms", type=float, default=0, help="wait after the kernel is ready (default: 0)")
    args = parser.parse_args()
    if args.reps < 1:
        parser.error(f"--reps must be at least 1, got {args.reps}")
    print(json.dumps(measure(args.kernel, args.reps, args.pause_ms)))


if __name__ == "__main__":
    main()
