"""PyTorch reference for `npm run bench`: median ms of one training step
(forward + backward through time + Adam) on the CPU with THREADS threads (default 1).

usage: /usr/bin/python3 test/bench/torch_step.py MODEL T B I H REPS [THREADS]
prints one JSON line: {"ms": median, "torch": version, "threads": THREADS, "blas": …}, where
"blas" says which library gave torch its sgemm_ and, for OpenBLAS, its kernels and threads
(torch_blas.py).
"""
import json
import statistics
import sys
import time

import torch
import torch_blas

model, T, B, I, H, reps = sys.argv[1], *map(int, sys.argv[2:7])
threads = int(sys.argv[7]) if len(sys.argv) > 7 else 1
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


for _ in range(3):
    step()
times = []
for _ in range(reps):
    t0 = time.perf_counter()
    step()
    times.append((time.perf_counter() - t0) * 1000)
facts = torch_blas.facts(torch)
blas = {"sgemm": facts["sgemm"], "openblas": facts["openblas"]}
print(json.dumps({"ms": statistics.median(times), "torch": torch.__version__, "threads": threads, "blas": blas}))
