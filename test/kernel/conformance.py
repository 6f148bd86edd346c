"""Jupyter protocol conformance of the seqlab kernel (jupyter_kernel_test).

Run by test/kernel.test.ts with JUPYTER_PATH pointing at a kernelspec for this
checkout:  /usr/bin/python3 -m unittest test/kernel/conformance.py
"""
import unittest

import jupyter_kernel_test as jkt


class SeqlabKernelTests(jkt.KernelTests):
    kernel_name = "seqlab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": '"seq" + "lab"', "result": "'seqlab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
    ]
    code_display_data = [
        {
            "code": 'import * as tslab from "tslab";\ntslab.display.html("<b>seqlab</b>")',
            "mime": "text/html",
        },
        {
            "code": 'import { sendDisplay } from "seqlab/internal";\n'
            'sendDisplay({ data: { "text/plain": "from the library" }, metadata: {} });',
            "mime": "text/plain",
        },
    ]
    completion_samples = [{"text": "Math.ma", "matches": {"max"}}]
    complete_code_samples = ["const x = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const a = [1, 2,"]
    code_inspect_sample = "Math.max"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 *"


if __name__ == "__main__":
    unittest.main()
