"""PyTorch reference for `npm run bench`: ms of one training step (forward + backward
through time + Adam) on the CPU with THREADS threads (default 1).

usage: /usr/bin/python3 test/bench/torch_step.py MODEL T B I H REPS [THREADS]
prints one JSON line: {"ms": median, "torch": version, "threads": THREADS, "blas": …}, where
"blas" says which library gave torch its sgemm_ and, for OpenBLAS, its kernels and threads
(torch_blas.py).

usage: /usr/bin/python3 test/bench/torch_step.py --serve MODEL T B I H [THREADS]
for timing interleaved with seqlab: builds the model, runs 3 warm-up steps and prints the same
JSON line (its "ms" null); then each line "run N" on stdin runs N steps and prints a JSON list
of their ms. The bench alternates these bursts with seqlab's, so that both see the same load.
"""
import json
import statistics
import sys
import time

import torch
import torch_blas

serve = sys.argv[1] == "--serve"
args = sys.argv[2:] if serve else sys.argv[1:]
model, T, B, I, H = args[0], *map(int, args[1:5])
reps = 0 if serve else int(args[5])
rest = args[5:] if serve else args[6:]
threads = int(rest[0]) if rest else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
K = 10
layer = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[model](I, H, batch_first=True)
head = torch.nn.Linear(H, K)
opt = torch.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=1e-3)
x = torch.randn(B, T, I)
y = torch.randint(0, K, (B,))


def step():
    opt.zero_grad()
    out, _ = layer(x)
    loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y)
    loss.backward()
    opt.step()


def timed(n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    return times


for _ in range(3):
    step()
facts = torch_blas.facts(torch)
blas = {"sgemm": facts["sgemm"], "openblas": facts["openblas"]}
ms = None if serve else statistics.median(timed(reps))
print(json.dumps({"ms": ms, "torch": torch.__version__, "threads": threads, "blas": blas}), flush=True)
if serve:
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "run":
            print(json.dumps(timed(int(words[1]))), flush=True)
