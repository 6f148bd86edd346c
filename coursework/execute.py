"""Runs one notebook through a Jupyter kernel, cell by cell, and survives what student code does.

    python3 execute.py IN.ipynb OUT.ipynb REPORT.json --kernel NAME --cell-timeout S

The grader (grade.js) and `npm run assign` use it instead of `nbconvert --execute`, which
stops at the first cell that times out or kills the kernel. Here:

- a cell that runs past --cell-timeout is interrupted (the seqlab kernel stops synchronous
  loops too) and gets an error output saying so; the kernel and its variables live on;
- a cell that kills the kernel (process.exit, a crash, the memory limit) gets an error
  output saying so; the kernel is restarted and the cells before it that had run without
  error are run again, silently, so that later cells find their definitions (a cell during
  which the kernel died is tried once more, since the death may be the previous cell's);
  after MAX_RESTARTS restarts the remaining cells are not run;
- a cell that runs past --cell-timeout and after which the kernel does not answer even an
  empty request within ANSWER_TIMEOUT seconds (a kernel that hangs, or that student code has
  stopped with SIGSTOP) is handled like a death: a new kernel, the earlier cells run again,
  and the cell tried once more;
- OUT.ipynb and REPORT.json are written after every cell, so that a run stopped from outside
  (the grader's limit on the whole notebook) leaves what it had run;
- REPORT.json lists, per cell, its index, its nbgrader grade_id, and its status: "ok",
  "error", "timeout", "died", "not-run", or "running" for the cell a run stopped from outside
  was in.
"""

import argparse
import asyncio
import copy
import json
import os
import sys
import time
from queue import Empty

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

MAX_RESTARTS = 3
# How long a kernel has, after a cell timed out and was interrupted, to answer an empty request.
# The seqlab kernel stops a training loop at the end of its step, or within 10 s.
ANSWER_TIMEOUT = 30


def grade_id(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def error_output(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


def has_error(cell):
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


async def restart(client):
    """A fresh kernel and client after the kernel died."""
    try:
        if client.kc is not None:
            client.kc.stop_channels()
    except Exception:  # the channels of a dead kernel may already be gone
        pass
    try:
        await client.km.shutdown_kernel(now=True)
    except Exception:
        pass
    await start(client)


async def start(client):
    """A kernel and its client; a start that fails (a slow machine missing the startup
    timeout) is tried once more before the run gives up."""
    for attempt in (1, 2):
        try:
            client.km = client.create_kernel_manager()
            await client.async_start_new_kernel()
            await client.async_start_new_kernel_client()
            return
        except Exception as e:
            if attempt == 2:
                raise
            print(f"execute.py: the kernel did not start ({type(e).__name__}: {e}); trying again", file=sys.stderr)
            try:
                await client.km.shutdown_kernel(now=True)
            except Exception:
                pass


async def execute(client, cell, i):
    """Runs one cell; returns its status."""
    t0 = time.monotonic()
    try:
        await client.async_execute_cell(cell, i)
    except Exception as e:  # nbclient's own errors, and whatever a lost channel raises
        if isinstance(e, DeadKernelError) or not await kernel_alive(client):
            what = "the kernel died while running this cell (process.exit, a crash or the memory limit)"
            cell.outputs = list(cell.get("outputs", [])) + [error_output("KernelDied", what)]
            return "died"
        cell.outputs = list(cell.get("outputs", [])) + [error_output(type(e).__name__, str(e)[:500])]
        return "error"
    if time.monotonic() - t0 >= client.timeout:
        if not await answers(client):
            what = (
                f"the cell ran for more than {client.timeout} s, and after Interrupt the kernel "
                f"did not answer for {ANSWER_TIMEOUT} s more"
            )
            cell.outputs = list(cell.get("outputs", [])) + [error_output("KernelHung", what)]
            return "hung"
        what = f"the cell ran for more than {client.timeout} s and was stopped"
        cell.outputs = list(cell.get("outputs", [])) + [error_output("Timeout", what)]
        return "timeout"
    return "error" if has_error(cell) else "ok"


async def answers(client, seconds=ANSWER_TIMEOUT):
    """Whether the kernel runs an empty request within `seconds`: it queues behind whatever the
    kernel is still running, so a kernel whose Interrupt did not end the timed-out cell fails."""
    try:
        msg_id = client.kc.execute("", silent=True, store_history=False)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            msg = await client.kc.get_shell_msg(timeout=left)
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
    except Empty:
        pass
    except Exception as e:  # a lost channel: the kernel is gone
        print(f"execute.py: the kernel did not answer ({type(e).__name__}: {e})", file=sys.stderr)
    return False


async def restart_and_replay(client, nb, report, upto):
    """A new kernel, in which the code cells before `upto` that ran without error run again, silently."""
    await restart(client)
    for j in range(upto):
        if report[j]["status"] == "ok" and nb.cells[j].cell_type == "code":
            replay = copy.deepcopy(nb.cells[j])
            if await execute(client, replay, j) in ("died", "hung"):
                return


async def run(nb, kernel, cell_timeout, startup_timeout, save=lambda report, notebook=True: None):
    """Runs the notebook's cells in order; `save` is called before each cell (the report only)
    and after it (the notebook and the report)."""
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=cell_timeout,
        startup_timeout=startup_timeout,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran for more than {cell_timeout} s and was stopped"},
        allow_errors=True,
        record_timing=False,
    )
    report = [{"index": i, "grade_id": grade_id(c), "status": "not-run", "seconds": 0.0} for i, c in enumerate(nb.cells)]
    restarts = 0
    hung = False
    await start(client)
    try:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                report[i]["status"] = "ok"
                continue
            t0 = time.monotonic()
            report[i]["status"] = "running"
            save(report, notebook=False)
            status = "not-run"
            for attempt in (1, 2):
                if hung or not await kernel_alive(client):
                    # The kernel hung in the cell before, or died after that cell's reply (the
                    # seqlab kernel reports a process.exit() in its cell, then exits): a new one,
                    # with the earlier cells run again.
                    restarts += 1
                    if restarts > MAX_RESTARTS:
                        break
                    await restart_and_replay(client, nb, report, i)
                status = await execute(client, cell, i)
                hung = status == "hung"
                if status in ("died", "hung"):
                    print(f"execute.py: cell {i} ({grade_id(cell) or 'no grade_id'}): the kernel {status}", file=sys.stderr)
                if status not in ("died", "hung") or attempt == 2:
                    break
                # It died or hung while running this cell, perhaps because of the cell before (a
                # race with that cell's exit) or of the kernel itself: the cell is tried once
                # more in a new kernel before it is marked.
                cell.outputs = []
            if restarts > MAX_RESTARTS and status == "not-run":
                cell.outputs = [error_output("NotRun", "not run: the kernel died or hung too many times before this cell")]
            report[i]["status"] = status
            report[i]["seconds"] = round(time.monotonic() - t0, 3)
            save(report)
    finally:
        try:
            await client._async_cleanup_kernel()
        except Exception:
            pass
    return report


async def kernel_alive(client):
    try:
        return bool(await client.km.is_alive())
    except Exception:
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("output")
    ap.add_argument("report")
    ap.add_argument("--kernel", default="seqlab")
    ap.add_argument("--cell-timeout", type=int, default=120)
    ap.add_argument("--startup-timeout", type=int, default=120)
    args = ap.parse_args()
    nb = nbformat.read(args.notebook, as_version=4)

    def save(report, notebook=True):
        # Each file replaced whole, the report last: a reader never finds half a file, and
        # every cell the report calls finished is in the notebook. Between cells the notebook
        # is written as nbformat writes it but without validating it again (a 5 MB notebook of
        # figures: 18 ms instead of 80, for every cell).
        if notebook:
            write_whole(args.output, lambda f: json.dump(nb, f, sort_keys=True, indent=1, ensure_ascii=False))
        write_whole(args.report, lambda f: json.dump(report, f, indent=1))

    report = asyncio.run(run(nb, args.kernel, args.cell_timeout, args.startup_timeout, save))
    write_whole(args.output, lambda f: nbformat.write(nb, f))
    save(report, notebook=False)
    return 0


def write_whole(path, write):
    """Writes a file through a temporary one beside it, renamed into place."""
    tmp = f"{path}.partial"
    with open(tmp, "w", encoding="utf-8") as f:
        write(f)
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
