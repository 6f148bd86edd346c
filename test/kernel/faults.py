"""Faults in a cell, as Jupyter sees them: Interrupt of synchronous code after an
await, process.exit() / process.abort(), exceptions thrown from timers; and a client
that dies without shutting its kernel down.

Run by test/kernel.test.ts with JUPYTER_PATH pointing at a kernelspec for this
checkout:  /usr/bin/python3 -m unittest test/kernel/faults.py
"""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

from jupyter_client.manager import start_new_kernel

from behaviour import TIMEOUT, Cell

SPIN_AFTER_AWAIT = (
    "await new Promise((r) => setTimeout(r, 10));\n"
    'console.log("spinning");\n'
    "const t0 = Date.now();\n"
    "while (Date.now() - t0 < 60000) {}\n"
    'console.log("the loop ran to its end");'
)


class KernelFaults(unittest.TestCase):
    def setUp(self):
        self.km, self.kc = start_new_kernel(kernel_name="seqlab")

    def tearDown(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)

    def run_cell(self, code, **kw):
        return Cell(self.kc, code, **kw)

    def interrupt_after(self, seconds):
        def later():
            time.sleep(seconds)
            self.km.interrupt_kernel()

        return lambda: threading.Thread(target=later).start()

    def interrupt_once_spinning(self):
        """An on_stream callback: Interrupt 1 s after the cell prints "spinning"."""
        start = self.interrupt_after(1.0)
        return lambda text: start() if text.startswith("spinning") else None

    def test_interrupt_stops_a_synchronous_loop_after_an_await_and_keeps_state(self):
        self.assertEqual(self.run_cell("let kept = 41;").reply["content"]["status"], "ok")
        start = time.time()
        cell = self.run_cell(SPIN_AFTER_AWAIT, on_stream=self.interrupt_once_spinning())
        took = time.time() - start
        self.assertTrue(cell.idle)
        self.assertLess(took, 10, "the cell did not stop within seconds of the interrupt")
        reply = cell.reply["content"]
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "Interrupted")
        self.assertIn("synchronous code after an await", reply["evalue"])
        self.assertEqual(cell.stdout, "spinning\n")
        after = self.run_cell("kept + 1")
        self.assertEqual(after.reply["content"]["status"], "ok")
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "42")

    def test_tfjs_works_after_a_loop_stopped_inside_tidy(self):
        setup = self.run_cell('import { tf } from "seqlab";\nconst before = tf.memory().numTensors;')
        self.assertEqual(setup.reply["content"]["status"], "ok", setup.messages)
        spin = (
            "await new Promise((r) => setTimeout(r, 10));\n"
            'console.log("spinning");\n'
            "tf.tidy(() => { tf.ones([2, 2]); const t0 = Date.now(); while (Date.now() - t0 < 60000) {} });"
        )
        cell = self.run_cell(spin, on_stream=self.interrupt_once_spinning())
        self.assertEqual(cell.reply["content"].get("ename"), "Interrupted", cell.messages)
        after = self.run_cell("tf.tidy(() => tf.ones([3]).sum().dataSync()[0]) + tf.memory().numTensors - before")
        self.assertEqual(after.reply["content"]["status"], "ok", after.messages)
        # The tensor made inside the stopped tidy was disposed with its scope.
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "3")

    def test_interrupt_stops_synchronous_code_before_any_await_and_closes_its_tidy(self):
        # Loading seqlab first: the spinning cell is then compiled well within the second.
        setup = self.run_cell('import { tf } from "seqlab";\nlet kept = 41;\nconst before = tf.memory().numTensors;')
        self.assertEqual(setup.reply["content"]["status"], "ok", setup.messages)
        spin = "tf.tidy(() => { tf.ones([2, 2]); const t0 = Date.now(); while (Date.now() - t0 < 60000) {} });"
        start = time.time()
        cell = self.run_cell(spin, on_busy=self.interrupt_after(2.0))
        self.assertLess(time.time() - start, 10, "the cell did not stop within seconds of the interrupt")
        reply = cell.reply["content"]
        self.assertEqual(reply["ename"], "Interrupted", cell.messages)
        self.assertIn("stopped where it was", reply["evalue"])
        # The next cell runs at once: the Interrupt is not taken for one of its compile.
        self.assertEqual(self.run_cell("1 + 1").reply["content"]["status"], "ok")
        after = self.run_cell("[kept + 1, tf.tidy(() => tf.ones([3]).sum().dataSync()[0]) + tf.memory().numTensors - before]")
        self.assertEqual(after.reply["content"]["status"], "ok", after.messages)
        # The tidy the loop was stopped in was closed, disposing the tensor made in it.
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "[ 42, 3 ]")

    def test_interrupt_while_a_cell_compiles_stops_it_before_it_runs(self):
        # A new kernel's first compile waits for TypeScript and seqlab's declarations to load
        # (about two seconds here), so an Interrupt 0.2 s after busy lands in it.
        cell = self.run_cell("globalThis.ranIt = true;", on_busy=self.interrupt_after(0.2))
        reply = cell.reply["content"]
        self.assertEqual(reply["ename"], "Interrupted", cell.messages)
        self.assertIn("while the cell was being compiled", reply["evalue"])
        after = self.run_cell("typeof (globalThis as any).ranIt")
        self.assertEqual(after.reply["content"]["status"], "ok", after.messages)
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "'undefined'")

    def test_process_exit_says_so_in_the_cell(self):
        cell = self.run_cell('console.log("before");\nprocess.exit(3);\nconsole.log("after");')
        self.assertEqual(cell.stdout, "before\n")
        reply = cell.reply["content"]
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "ProcessExit")
        self.assertIn("process.exit(3) was called", reply["evalue"])
        self.assertIn("kernel process is ending", reply["evalue"])
        self.assertEqual(len(cell.of("error")), 1)
        self.assertTrue(self.wait_dead(), "the kernel did not end after process.exit(3)")
        self.assertEqual(self.km.provisioner.process.returncode, 3)

    def test_process_exit_from_a_timer_says_so_in_the_last_cell(self):
        cell = self.run_cell("setTimeout(() => process.exit(), 200);")
        self.assertEqual(cell.reply["content"]["status"], "ok")
        errors = self.iopub_errors(seconds=5)
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["parent_header"]["msg_id"], cell.msg_id)
        self.assertIn("process.exit() was called", errors[0]["content"]["evalue"])
        self.assertTrue(self.wait_dead())

    def test_process_abort_says_so_in_the_cell(self):
        cell = self.run_cell("process.abort();")
        self.assertEqual(cell.reply["content"]["status"], "error")
        self.assertIn("process.abort() was called", cell.reply["content"]["evalue"])
        self.assertTrue(self.wait_dead())

    def test_an_exception_thrown_in_a_timer_is_reported_and_the_kernel_lives(self):
        self.assertEqual(self.run_cell("let kept = 7;").reply["content"]["status"], "ok")
        cell = self.run_cell('setTimeout(() => { throw new TypeError("late failure"); }, 100);')
        self.assertEqual(cell.reply["content"]["status"], "ok")
        errors = self.iopub_errors(seconds=3)
        self.assertEqual([e["content"]["evalue"] for e in errors], ["late failure"])
        self.assertEqual(errors[0]["content"]["ename"], "TypeError")
        after = self.run_cell("kept")
        self.assertEqual(after.of("execute_result")[0]["content"]["data"]["text/plain"], "7")

    def iopub_errors(self, seconds):
        errors = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.2)
            except Exception:
                continue
            if msg["msg_type"] == "error":
                errors.append(msg)
        return errors

    def wait_dead(self, seconds=TIMEOUT / 6):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if not self.km.is_alive():
                return True
            time.sleep(0.1)
        return False



# A client that starts a kernel, prints its pid and waits to be killed.
CLIENT = (
    "import time\n"
    "from jupyter_client.manager import start_new_kernel\n"
    "km, kc = start_new_kernel(kernel_name='seqlab')\n"
    "print(km.provisioner.process.pid, flush=True)\n"
    "time.sleep(600)\n"
)


def running(pid):
    """Whether process pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class ClientGone(unittest.TestCase):
    def test_the_kernel_exits_when_its_client_is_killed(self):
        client = subprocess.Popen([sys.executable, "-c", CLIENT], stdout=subprocess.PIPE, text=True)
        try:
            kernel = int(client.stdout.readline())
            self.assertTrue(running(kernel))
            time.sleep(2)
            self.assertTrue(running(kernel), "the kernel lives while its client does")
            client.send_signal(signal.SIGKILL)  # no shutdown_kernel: the kernel is orphaned
            client.wait()
            deadline = time.monotonic() + 15
            while running(kernel) and time.monotonic() < deadline:
                time.sleep(0.2)
            alive = running(kernel)
            if alive:
                os.kill(kernel, signal.SIGKILL)
            self.assertFalse(alive, "the kernel outlived its client by 15 s")
        finally:
            if client.poll() is None:
                client.kill()


if __name__ == "__main__":
    unittest.main()
