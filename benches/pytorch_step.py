#!/usr/bin/env python3
"""PyTorch's whole step for the models of `benches/step.rs`, on one thread, to print beside
chainrule's figures in `BENCHMARKS.md`. Needs `torch` (CPU); the project never depends on it.

    python3 benches/pytorch_step.py

A step is what `benches/step.rs` times: forward, cross-entropy, backward and the optimizer's
update (`SGD(lr=1e-3, momentum=0.9)` or `Adam(lr=1e-3)`), for
`nn.Sequential(nn.Linear(I, H), nn.ReLU(), nn.Linear(H, 10))` on batches of 32 in float32,
cycling over eight batches of uniform pixels and random classes. Each figure is the median,
over 15 repeats, of the mean time of steps 1-250 of a run, or of steps 3,001-3,250 (`aged`).
"""
import copy
import statistics
import time

import torch
from torch import nn

SEGMENT, AGE, REPEATS, BATCH = 250, 3000, 15, 32


def batches(inputs, seed):
    generator = torch.Generator().manual_seed(seed)
    return [
        (torch.rand(BATCH, inputs, generator=generator),
         torch.randint(0, 10, (BATCH,), generator=generator))
        for _ in range(8)
    ]


def run(model, optimizer, data, steps):
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        x, y = data[step % len(data)]
        optimizer.zero_grad(set_to_none=False)
        loss_fn(model(x), y).backward()
        optimizer.step()


def mean_step(model, make_optimizer, data, age):
    optimizer = make_optimizer(model)
    run(model, optimizer, data, age)
    times = []
    for _ in range(REPEATS):
        trial = copy.deepcopy(model)
        trial_optimizer = make_optimizer(trial)
        trial_optimizer.load_state_dict(optimizer.state_dict())
        start = time.perf_counter()
        run(trial, trial_optimizer, data, SEGMENT)
        times.append((time.perf_counter() - start) / SEGMENT)
    return statistics.median(times)


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    optimizers = {
        "sgd_momentum": lambda m: torch.optim.SGD(m.parameters(), lr=1e-3, momentum=0.9),
        "adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-3),
    }
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    print("| model | optimizer | steps 1-250 | steps 3,001-3,250 |")
    print("|---|---|---:|---:|")
    for inputs, hidden in ((784, 64), (784, 128), (784, 512), (64, 128)):
        data = batches(inputs, hidden)
        for name, make in optimizers.items():
            model = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, 10))
            fresh = mean_step(copy.deepcopy(model), make, data, 0)
            aged = mean_step(model, make, data, AGE) if (inputs, hidden) == (784, 128) else None
            aged_text = f"{aged * 1e6:.0f} µs" if aged else "–"
            print(f"| {inputs}-{hidden}-10 | {name} | {fresh * 1e6:.0f} µs | {aged_text} |")


if __name__ == "__main__":
    main()
