#!/usr/bin/env python3
"""The tables of `benches/mnist.rs`: each step's median against the floor of its matrix
products, for the 784-128-10 step and by hidden width and batch size.

    python3 benches/mnist_table.py [CRITERION_DIR ...]

CRITERION_DIR defaults to target/criterion. Given several (copies of target/criterion from
separate runs), each cell is the median over the runs, and each ratio to the floor is the
median of the runs' ratios (each run's step over the same run's floor) with their range.
Prints Markdown, and writes the sweeps' medians over the runs (and their lowest and highest)
to FIRST_DIR/mnist-step.csv for `cargo run --example plot_mnist_step`.
"""
import json
import pathlib
import statistics
import sys

CONTENDERS = ("graph", "graph_by_ref", "sequential", "floor_kernels")
PIXELS, CLASSES = 784, 10


def seconds(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e5:
        return f"{ns / 1e3:.0f} µs"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def medians(root, group):
    """{(contender, parameter): (median, low, high)} in nanoseconds."""
    out = {}
    for estimates in sorted((root / group).glob("*/*/new/estimates.json")):
        median = json.loads(estimates.read_text())["median"]
        interval = median["confidence_interval"]
        parameter = int(estimates.parent.parent.name)
        contender = estimates.parent.parent.parent.name
        out[(contender, parameter)] = (
            median["point_estimate"],
            interval["lower_bound"],
            interval["upper_bound"],
        )
    return out


def multiply_adds(hidden, batch):
    """The step's five products: W1·X, dZ1·Xᵀ, W2·H, dZ2·Hᵀ, W2ᵀ·dZ2."""
    return 2 * hidden * PIXELS * batch + 3 * CLASSES * hidden * batch


def ratio(runs, contender, parameter):
    """The median over the runs of contender ÷ floor, and its range, as text."""
    ratios = sorted(run[(contender, parameter)][0] / run[("floor", parameter)][0]
                    for run in runs if (contender, parameter) in run)
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}×"
    return f"{statistics.median(ratios):.2f}× ({ratios[0]:.2f}–{ratios[-1]:.2f})"


def time(runs, contender, parameter):
    return seconds(statistics.median(run[(contender, parameter)][0] for run in runs
                                     if (contender, parameter) in run))


def sweep(runs, name, sizes):
    parameters = sorted({parameter for run in runs for (_, parameter) in run})
    present = [c for c in CONTENDERS if any((c, p) in run for run in runs for p in parameters)]
    print("| H | B | multiply-adds | floor (gemm) | "
          + " | ".join(f"{c} | ÷ floor" for c in present) + " |")
    print("|" + "---:|" * (4 + 2 * len(present)))
    for parameter in parameters:
        hidden, batch = sizes(parameter)
        print(f"| {hidden} | {batch} | {multiply_adds(hidden, batch) / 1e6:.2f} M | "
              f"{time(runs, 'floor', parameter)} | "
              + " | ".join(f"{time(runs, c, parameter)} | {ratio(runs, c, parameter)}"
                           for c in present) + " |")
    print()


def main():
    roots = [pathlib.Path(arg) for arg in sys.argv[1:]] or [pathlib.Path("target/criterion")]
    print(f"Medians over {len(roots)} run{'s' if len(roots) > 1 else ''}.\n")
    headline = [medians(root, "mnist") for root in roots]
    headline = [run for run in headline if run]
    if headline:
        print("#### `mnist`: 784-128-10, batch 32\n")
        print("| contender | median | ÷ floor |")
        print("|---|---:|---:|")
        contenders = sorted({c for run in headline for (c, _) in run},
                            key=lambda c: statistics.median(run[(c, 128)][0] for run in headline))
        for contender in contenders:
            print(f"| {contender} | {time(headline, contender, 128)} | "
                  f"{ratio(headline, contender, 128)} |")
        print()
    rows = []
    for group, sizes in (("width", lambda h: (h, 32)), ("batch", lambda b: (128, b))):
        runs = [run for run in (medians(root, group) for root in roots) if run]
        if not runs:
            continue
        print(f"#### `{group}`\n")
        sweep(runs, group, sizes)
        for contender, parameter in sorted({key for run in runs for key in run}):
            points = [run[(contender, parameter)][0] for run in runs if (contender, parameter) in run]
            hidden, batch = sizes(parameter)
            rows.append((group, hidden, batch, contender, statistics.median(points),
                         min(points), max(points)))
    if rows:
        with open(roots[0] / "mnist-step.csv", "w") as csv:
            csv.write("sweep,hidden,batch,contender,median_ns,lowest_ns,highest_ns\n")
            for row in rows:
                csv.write(",".join(str(value) for value in row) + "\n")


if __name__ == "__main__":
    main()
