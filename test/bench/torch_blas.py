"""Which BLAS a PyTorch process really runs on, for `npm run bench`.

Debian's python3-torch is built with BLAS_INFO=generic: it calls whatever libblas.so.3
the dynamic linker finds (the alternatives' choice, or LD_LIBRARY_PATH / LD_PRELOAD),
so neither torch.__config__ nor the package tells. Nor do the libraries mapped into the
process alone: OpenBLAS can be loaded for LAPACK while sgemm_ comes from the reference
libblas.so.3. So this asks the dynamic linker which library gives libtorch_cpu its sgemm_
(dlsym in libtorch_cpu's scope, then dladdr); test/bench/blas.ts names the BLAS from it.

usage: /usr/bin/python3 test/bench/torch_blas.py      prints facts() as one JSON line
"""
import ctypes
import json
import os
import re
import subprocess
import sysconfig


def mapped_libraries():
    """Shared libraries mapped into this process, in order of first appearance."""
    seen = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            if len(parts) == 6:
                p = parts[5].strip()
                if p.startswith("/") and ".so" in os.path.basename(p) and p not in seen:
                    seen.append(p)
    return seen


class _DlInfo(ctypes.Structure):
    _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p), ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]


def provider(symbol, libraries):
    """The library the dynamic linker binds `symbol` to for libtorch_cpu: the global scope
    first (LD_PRELOAD, RTLD_GLOBAL libraries), then libtorch_cpu's own dependencies."""
    libc = ctypes.CDLL(None)
    libc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    scopes = [libc] + [ctypes.CDLL(p) for p in libraries if os.path.basename(p).startswith("libtorch_cpu")]
    for scope in scopes:
        try:
            fn = getattr(scope, symbol)
        except AttributeError:
            continue
        info = _DlInfo()
        if libc.dladdr(ctypes.cast(fn, ctypes.c_void_p), ctypes.byref(info)) and info.fname:
            return os.path.realpath(info.fname.decode())
    return None


def openblas(library):
    """OpenBLAS's own account (build, kernels chosen for this CPU, threads), if `library` is
    OpenBLAS (its libblas.so.3 wrapper finds these in the libopenblas it depends on)."""
    try:
        lib = ctypes.CDLL(library)
        lib.openblas_get_config.restype = ctypes.c_char_p
        lib.openblas_get_corename.restype = ctypes.c_char_p
        return {
            "library": library,
            "config": lib.openblas_get_config().decode(),
            "core": lib.openblas_get_corename().decode(),
            "threads": lib.openblas_get_num_threads(),
        }
    except (OSError, AttributeError, TypeError):
        return None


def alternative(multiarch):
    """The Debian alternative libblas.so.3 points at, if there is one."""
    name = f"libblas.so.3-{multiarch}" if multiarch else "libblas.so.3"
    try:
        out = subprocess.run(["update-alternatives", "--query", name], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    fields = dict(re.findall(r"^(Status|Value|Best): (.*)$", out, re.M))
    return {"name": name, "status": fields.get("Status"), "value": fields.get("Value"), "best": fields.get("Best")}


def facts(torch):
    a = torch.randn(64, 64)
    (a @ a).sum().item()  # a BLAS call, should anything load lazily
    libraries = mapped_libraries()
    config = torch.__config__.show()
    blas_info = re.search(r"BLAS_INFO=([^,\s]+)", config)
    capability = re.search(r"CPU capability usage: (\S+)", config)
    multiarch = sysconfig.get_config_var("MULTIARCH")
    sgemm = provider("sgemm_", libraries)
    return {
        "torch": torch.__version__,
        "sgemm": sgemm,
        "openblas": openblas(sgemm) if sgemm else None,
        "libraries": [p for p in libraries if re.search(r"blas|blis|atlas|mkl|lapack|gomp|omp", os.path.basename(p), re.I)],
        "build_blas": blas_info.group(1) if blas_info else None,
        "cpu_capability": capability.group(1) if capability else None,
        "multiarch": multiarch,
        "alternative": alternative(multiarch),
    }


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    print(json.dumps(facts(torch)))
