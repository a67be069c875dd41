#!/usr/bin/env python3
"""Criterion's medians as Markdown tables, with each contender's ratio to a baseline.

    python3 benches/table.py [CRITERION_DIR] [GROUP ...]

CRITERION_DIR defaults to target/criterion. For each group (default: every group found) it
prints one table: contender, median, 95% interval of the median, and ratio to the baseline:
`by_hand` when the group has one, and for benchmarks with a parameter (`adam/128`), `floor`
with the same parameter (`floor/128`); then, when the group has `*_forward` entries,
gradient ÷ forward.
"""
import json
import pathlib
import sys


def seconds(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def medians(group_dir):
    out = {}
    found = [*group_dir.glob("*/new/estimates.json"), *group_dir.glob("*/*/new/estimates.json")]
    for estimates in sorted(found):
        median = json.loads(estimates.read_text())["median"]
        name = estimates.parent.parent.relative_to(group_dir).as_posix()
        interval = median["confidence_interval"]
        out[name] = (
            median["point_estimate"],
            interval["lower_bound"],
            interval["upper_bound"],
        )
    return out


def table(name, results):
    print(f"#### `{name}`\n")
    def baseline_of(contender):
        if "/" in contender:
            return results.get(f"floor/{contender.split('/')[1]}")
        return results.get("by_hand")

    def order(item):
        contender, (point, _, _) = item
        parameter = contender.split("/")[1] if "/" in contender else ""
        return (int(parameter) if parameter.isdigit() else 0, point)

    print("| contender | median | 95% interval | ÷ baseline |")
    print("|---|---:|---:|---:|")
    for contender, (point, low, high) in sorted(results.items(), key=order):
        baseline = baseline_of(contender)
        ratio = f"{point / baseline[0]:.2f}×" if baseline else "–"
        print(f"| {contender} | {seconds(point)} | {seconds(low)} – {seconds(high)} | {ratio} |")
    def forward_of(contender):
        # `by_hand` → `by_hand_forward`; `chainrule_batched` → `chainrule_forward`.
        for name in (f"{contender}_forward", f"{contender.split('_')[0]}_forward"):
            if name in results:
                return name
        return None

    gradient_over_forward = [
        (contender, results[contender][0] / results[forward_of(contender)][0])
        for contender in results
        if not contender.endswith("_forward") and forward_of(contender)
    ]
    if gradient_over_forward:
        print()
        print(", ".join(f"{c} gradient ÷ forward = {r:.2f}" for c, r in gradient_over_forward))
    print()


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    groups = sys.argv[2:] or sorted(p.name for p in root.iterdir() if (p / "report").exists() or p.is_dir())
    for group in groups:
        results = medians(root / group)
        if results:
            table(group, results)


if __name__ == "__main__":
    main()
