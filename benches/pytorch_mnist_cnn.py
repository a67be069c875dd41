#!/usr/bin/env python3
"""PyTorch's whole training step for its own MNIST example network, on one thread, to print
beside `benches/mnist_cnn.rs`'s figures in `BENCHMARKS.md`. Needs `torch` (CPU); the project
never depends on it.

    python3 benches/pytorch_mnist_cnn.py

The network is `pytorch/examples: mnist/main.py`'s `Net` (conv 1->32 3x3, ReLU, conv 32->64
3x3, ReLU, max-pool 2, dropout 0.25, flatten, linear 9216->128, ReLU, dropout 0.5, linear
128->10, log_softmax with nll_loss), in training mode (dropout on), on batches of 32 28x28
images in float32. A step is what the benchmark times: forward, loss, backward and
`SGD(lr=1e-2, momentum=0.9)`'s update. The figure is the median, over 15 repeats, of the
mean time of 20 steps, after 10 steps of warm-up.
"""
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F

STEPS, WARMUP, REPEATS, BATCH = 20, 10, 15, 32


class Net(nn.Module):
    """The example's network, as `mnist/main.py` writes it."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(self.dropout1(x), 1)
        x = self.dropout2(F.relu(self.fc1(x)))
        return F.log_softmax(self.fc2(x), dim=1)


def step(model, optimizer, x, y):
    optimizer.zero_grad(set_to_none=False)
    F.nll_loss(model(x), y).backward()
    optimizer.step()


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Net().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    x = torch.rand(BATCH, 1, 28, 28)
    y = torch.randint(0, 10, (BATCH,))
    for _ in range(WARMUP):
        step(model, optimizer, x, y)
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(STEPS):
            step(model, optimizer, x, y)
        times.append((time.perf_counter() - start) / STEPS)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
    print(f"MNIST example network, batch {BATCH}, SGD momentum step: "
          f"{statistics.median(times) * 1e3:.2f} ms (median of {REPEATS} x {STEPS} steps)")


if __name__ == "__main__":
    main()
