"""What long training cells need from the seqlab kernel, checked as Jupyter sees it.

Run by test/kernel.test.ts with JUPYTER_PATH pointing at a kernelspec for this
checkout:  /usr/bin/python3 -m unittest test/kernel/behaviour.py
"""
import os
import re
import signal
import time
import unittest
from queue import Empty

from jupyter_client.manager import start_new_kernel

TIMEOUT = 60


class Cell:
    """Everything one execute_request produced, until the kernel went idle."""

    def __init__(self, kc, code, timeout=TIMEOUT, on_busy=None, on_stream=None):
        self.msg_id = kc.execute(code)
        self.messages = []
        self.idle = False
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                msg = kc.get_iopub_msg(timeout=1)
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") != self.msg_id:
                continue
            self.messages.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "busy" and on_busy:
                on_busy()
            if msg["msg_type"] == "stream" and on_stream:
                on_stream(msg["content"]["text"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self.idle = True
                break
        self.reply = kc.get_shell_msg(timeout=timeout)
        while self.reply["parent_header"].get("msg_id") != self.msg_id:
            self.reply = kc.get_shell_msg(timeout=timeout)

    def of(self, msg_type):
        return [m for m in self.messages if m["msg_type"] == msg_type]

    @property
    def stdout(self):
        return "".join(m["content"]["text"] for m in self.of("stream") if m["content"]["name"] == "stdout")


class SeqlabKernelBehaviour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name="seqlab")

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)

    def run_cell(self, code, **kw):
        return Cell(self.kc, code, **kw)

    def test_5000_lines_in_one_synchronous_cell_all_arrive(self):
        cell = self.run_cell('for (let i = 0; i < 5000; i++) console.log(`line ${i}`);')
        self.assertTrue(cell.idle, "the kernel never returned to idle")
        self.assertEqual(cell.reply["content"]["status"], "ok")
        lines = cell.stdout.splitlines()
        self.assertEqual(len(lines), 5000)
        self.assertEqual(lines[0], "line 0")
        self.assertEqual(lines[-1], "line 4999")
        self.assertEqual(lines, [f"line {i}" for i in range(5000)])

    def test_lines_from_an_async_loop_stream_while_it_runs(self):
        code = (
            "for (let i = 0; i < 20; i++) {\n"
            "  console.log(`step ${i}`);\n"
            "  await new Promise((r) => setTimeout(r, 25));\n"
            "}"
        )
        cell = self.run_cell(code)
        self.assertTrue(cell.idle)
        self.assertEqual(cell.stdout.splitlines(), [f"step {i}" for i in range(20)])
        # Streamed as the loop runs, not in one message at the end.
        self.assertGreaterEqual(len(cell.of("stream")), 10)

    def test_600_in_place_display_updates_all_arrive(self):
        code = (
            'import * as tslab from "tslab";\n'
            "const d = tslab.newDisplay();\n"
            "for (let i = 0; i < 600; i++) d.text(`update ${i}`);"
        )
        cell = self.run_cell(code)
        self.assertTrue(cell.idle)
        first = cell.of("display_data")
        updates = cell.of("update_display_data")
        self.assertEqual(len(first), 1)
        self.assertEqual(len(updates), 599)
        display_id = first[0]["content"]["transient"]["display_id"]
        self.assertTrue(all(u["content"]["transient"]["display_id"] == display_id for u in updates))
        self.assertEqual(updates[-1]["content"]["data"]["text/plain"], "update 599")

    def test_state_survives_a_cell_that_throws(self):
        self.assertEqual(self.run_cell("let kept = 41;").reply["content"]["status"], "ok")
        bad = self.run_cell('kept += 1;\nthrow new RangeError("bad step");')
        self.assertEqual(bad.reply["content"]["status"], "error")
        self.assertEqual(bad.reply["content"]["ename"], "RangeError")
        self.assertEqual(bad.reply["content"]["evalue"], "bad step")
        errors = bad.of("error")
        self.assertEqual(len(errors), 1)
        self.assertTrue(any("bad step" in line for line in errors[0]["content"]["traceback"]))
        after = self.run_cell("kept")
        self.assertEqual(after.reply["content"]["status"], "ok")
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "42")

    def test_a_traceback_starts_at_the_error_and_a_check_failure_is_its_message_alone(self):
        thrown = self.run_cell('function deep() { throw new RangeError("bad step"); }\ndeep();')
        traceback = thrown.of("error")[0]["content"]["traceback"]
        self.assertEqual(traceback[0], "RangeError: bad step")
        self.assertTrue(any("at deep" in line for line in traceback[1:]))
        self.assertFalse(any("^" == line.strip() for line in traceback))
        check = self.run_cell(
            'import { expectClose } from "seqlab/coursework";\n'
            'expectClose("double", "2x", [1, 2, 3], [2, 4, 6]);'
        )
        content = check.of("error")[0]["content"]
        self.assertEqual(content["ename"], "CheckFailure")
        self.assertEqual(
            content["traceback"],
            ["CheckFailure: double: 2x is wrong: error 0.33 (must be below 1e-4).\n  It is about 1/2 of the right value."],
        )

    def test_a_failed_cell_aborts_the_cells_queued_behind_it(self):
        first = self.kc.execute('throw new Error("first fails")')
        second = self.kc.execute('console.log("must not run")')
        replies = {}
        while len(replies) < 2:
            r = self.kc.get_shell_msg(timeout=TIMEOUT)
            replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
        self.assertEqual(replies, {first: "error", second: "aborted"})
        # A request sent after the failure runs normally.
        self.assertEqual(self.run_cell("2 + 2").reply["content"]["status"], "ok")

    def test_unknown_requests_do_not_write_into_cells(self):
        self.assertEqual(self.run_cell("1").reply["content"]["status"], "ok")
        self.kc.shell_channel.send(self.kc.session.msg("usage_request", {}))
        streams = []
        deadline = time.time() + 1.0
        while time.time() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.1)
            except Empty:
                continue
            if msg["msg_type"] == "stream":
                streams.append(msg["content"]["text"])
        self.assertEqual(streams, [])
        cell = self.run_cell('console.log("after")')
        self.assertEqual(cell.stdout, "after\n")
        self.assertEqual([m for m in cell.of("stream") if m["content"]["name"] == "stderr"], [])

    def test_compile_errors_are_error_messages(self):
        cell = self.run_cell('const n: number = "not a number";')
        self.assertEqual(cell.reply["content"]["status"], "error")
        self.assertEqual(cell.reply["content"]["ename"], "TypeScriptError")
        self.assertIn("not assignable to type 'number'", cell.reply["content"]["evalue"])
        self.assertEqual(len(cell.of("error")), 1)
        self.assertEqual(cell.of("stream"), [])

    def test_seqlab_imports_and_type_checks(self):
        ok = self.run_cell('import { version, tf } from "seqlab";\nversion.split(".").length + tf.tensor1d([1, 2]).size')
        self.assertEqual(ok.reply["content"]["status"], "ok", ok.messages)
        self.assertEqual(ok.of("execute_result")[0]["content"]["data"]["text/plain"], "5")
        bad = self.run_cell('import { version } from "seqlab";\nconst v: number = version;')
        self.assertEqual(bad.reply["content"]["ename"], "TypeScriptError")

    def test_type_errors_are_reported_after_seqlab_is_imported(self):
        ok = self.run_cell('import { initBackend } from "seqlab";\ntypeof initBackend')
        self.assertEqual(ok.reply["content"]["status"], "ok", ok.messages)
        plain = self.run_cell('const x: number = "a";')
        self.assertEqual(plain.reply["content"]["ename"], "TypeScriptError")
        self.assertIn("not assignable to type 'number'", plain.reply["content"]["evalue"])
        # seqlab's own declarations are checked against: initBackend takes a backend's name.
        misuse = self.run_cell("initBackend(42);")
        self.assertEqual(misuse.reply["content"]["ename"], "TypeScriptError")
        self.assertIn("not assignable to parameter of type 'string'", misuse.reply["content"]["evalue"])

    def test_seqlab_names_come_only_from_a_cells_own_import(self):
        # The kernel loads seqlab's declarations before any cell asks (compiler.js): that must
        # not put seqlab, or anything from it, in scope.
        cell = self.run_cell("typeof seqlab")
        self.assertEqual(cell.reply["content"]["ename"], "TypeScriptError")
        self.assertIn("Cannot find name 'seqlab'", cell.reply["content"]["evalue"])
        own = self.run_cell("const seqlab = 3;\nseqlab * 2")
        self.assertEqual(own.of("execute_result")[0]["content"]["data"]["text/plain"], "6")

    def test_interrupt_stops_a_cooperative_loop_at_the_end_of_a_step(self):
        code = (
            'import { interruptible } from "seqlab";\n'
            "let steps = 0;\n"
            "const run = interruptible();\n"
            "try {\n"
            "  while (!run.stop() && steps < 10000) {\n"
            "    if (++steps === 1) console.log(\"running\");\n"
            "    await new Promise((r) => setTimeout(r, 10));\n"
            "  }\n"
            "} finally { run.close(); }\n"
            'console.log(`stopped after ${steps} steps`);'
        )
        pid = self.km.provisioner.process.pid

        def interrupt_soon():
            time.sleep(0.5)
            os.kill(pid, signal.SIGINT)

        import threading

        def on_stream(text):
            # Interrupt once the loop runs (compiling the cell may take a while).
            if text.startswith("running"):
                threading.Thread(target=interrupt_soon).start()

        cell = self.run_cell(code, on_stream=on_stream)
        self.assertTrue(cell.idle)
        self.assertEqual(cell.reply["content"]["status"], "ok")
        self.assertEqual(cell.stdout.splitlines()[0], "running")
        steps = int(re.search(r"stopped after (\d+) steps", cell.stdout).group(1))
        self.assertGreater(steps, 5)
        self.assertLess(steps, 10000)
        # The kernel is still alive and kept the cell's state.
        self.assertEqual(self.run_cell("steps > 5").of("execute_result")[0]["content"]["data"]["text/plain"], "true")

    def test_interrupt_request_aborts_a_plain_async_cell(self):
        code = "await new Promise((r) => setTimeout(r, 30000));"
        import threading

        def interrupt_soon():
            time.sleep(1.0)
            self.km.interrupt_kernel()

        start = time.time()
        cell = self.run_cell(code, on_busy=lambda: threading.Thread(target=interrupt_soon).start())
        self.assertLess(time.time() - start, 20)
        self.assertEqual(cell.reply["content"]["status"], "error")
        self.assertIn("Interrupted", cell.reply["content"]["evalue"])
        self.assertEqual(self.run_cell("1 + 1").reply["content"]["status"], "ok")


class SeqlabKernelWarmUp(unittest.TestCase):
    """The kernel loads TypeScript, seqlab's declarations and seqlab itself in the background
    after it starts (kernel/compiler.js, Kernel.preload): a notebook's first cell gives the
    same outputs whether it arrives at once or after all that has finished."""

    FIRST_CELL = (
        'import { tf, initBackend, describeBackend, version } from "seqlab";\n'
        "const backend = await initBackend();\n"
        "console.log(`seqlab ${version}`);\n"
        "console.log(describeBackend(backend));\n"
        "tf.tensor1d([1, 2, 3]).sum().dataSync()[0]"
    )

    def first_cell_outputs(self, wait_s):
        km, kc = start_new_kernel(kernel_name="seqlab")
        try:
            time.sleep(wait_s)
            cell = Cell(kc, self.FIRST_CELL)
            after = Cell(kc, 'const n: number = "a";')
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        self.assertEqual(cell.reply["content"]["status"], "ok", cell.messages)
        self.assertEqual(after.reply["content"]["ename"], "TypeScriptError")
        return {
            "types": [m["msg_type"] for m in cell.messages],
            "stdout": cell.stdout,
            "stderr": "".join(m["content"]["text"] for m in cell.of("stream") if m["content"]["name"] == "stderr"),
            "result": cell.of("execute_result")[0]["content"]["data"],
            "displays": [sorted(m["content"]["data"]) for m in cell.of("display_data")],
            "after": after.reply["content"]["evalue"],
        }

    def test_the_first_cell_gives_the_same_outputs_before_and_after_the_warm_up(self):
        at_once = self.first_cell_outputs(0)
        # Long enough for the background work to finish on a busy machine; not a timing assertion.
        warmed = self.first_cell_outputs(8)
        self.assertEqual(at_once["result"], {"text/plain": "6"})
        self.assertIn("tfjs backend:", at_once["stdout"])
        self.assertEqual(warmed, at_once)


class SeqlabKernelPictureWait(unittest.TestCase):
    """The end of a cell waits for its figures' still pictures, at most SEQLAB_PICTURE_WAIT, and no longer once Interrupt is pressed."""

    @classmethod
    def setUpClass(cls):
        import tempfile

        cls.tmp = tempfile.mkdtemp(prefix="seqlab-hung-browser-")
        # A "browser" that never answers: the picture of a figure never comes.
        hung = os.path.join(cls.tmp, "chromium")
        with open(hung, "w") as f:
            f.write("#!/bin/sh\nexec sleep 600\n")
        os.chmod(hung, 0o755)
        env = dict(os.environ, SEQLAB_CHROMIUM=hung, SEQLAB_PICTURE_WAIT="3000")
        cls.km, cls.kc = start_new_kernel(kernel_name="seqlab", env=env)

    @classmethod
    def tearDownClass(cls):
        import shutil

        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=True)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def show_cell(self, title):
        return f'import {{ show, trainingCurves }} from "seqlab";\nshow(trainingCurves({{ loss: [1, 0.5] }}, {{ title: "{title}" }}));'

    def test_a_picture_that_never_comes_holds_the_cell_for_the_wait_and_no_longer(self):
        started = time.time()
        cell = Cell(self.kc, self.show_cell("held"))
        took = time.time() - started
        self.assertEqual(cell.reply["content"]["status"], "ok")
        self.assertEqual(len(cell.of("display_data")), 1, "the figure itself went out first")
        self.assertGreaterEqual(took, 3.0)
        self.assertLess(took, 20.0)

    def test_interrupt_ends_the_wait_at_once(self):
        pid = self.km.provisioner.process.pid
        import threading

        def interrupt_soon():
            time.sleep(0.5)
            os.kill(pid, signal.SIGINT)

        def on_stream(text):
            # The figure is out and the cell's code has ended: the kernel is waiting for its picture.
            if text.startswith("shown"):
                threading.Thread(target=interrupt_soon).start()

        code = 'process.env.SEQLAB_PICTURE_WAIT = "60000";\n' + self.show_cell("interrupted") + '\nconsole.log("shown");'
        started = time.time()
        cell = Cell(self.kc, code, on_stream=on_stream)
        took = time.time() - started
        self.assertTrue(cell.idle)
        self.assertEqual(cell.reply["content"]["status"], "ok")
        self.assertEqual(len(cell.of("display_data")), 1)
        self.assertLess(took, 20.0, "Interrupt ended the 60 s wait")
        # The kernel answers the next cell.
        self.assertEqual(Cell(self.kc, "2 + 2").of("execute_result")[0]["content"]["data"]["text/plain"], "4")

if __name__ == "__main__":
    unittest.main()
