#!/usr/bin/env bash
# The compile time `graph!` adds, by graph size: for chains and balanced trees of 100, 1,000
# and 10,000 nodes, generate a binary crate holding one graph and calling its
# `value_and_grad` (so rustc generates its code), build it once so its dependencies are
# cached, then time rebuilding just that crate: `cargo check` (expansion and type checking, the
# edit loop) and `cargo build --release` (everything, LLVM included).
#
#   bash benches/compile-time/run.sh            # prints a Markdown table
#
# Uses hyperfine (Debian's package) when available, else one timed run.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/target/compile-time"
mkdir -p "$work"

# A chain: each `let` uses the previous one (each line adds 3 nodes: sin, mul, add).
chain() {
    local nodes=$1 lines=$(( $1 / 3 ))
    echo "pub fn graph(x: f64) -> f64 {"
    echo "    let v0 = x;"
    for ((i = 1; i <= lines; i++)); do echo "    let v$i = sin(v$((i - 1))) * x + v$((i - 1));"; done
    echo "    v$lines"
    echo "}"
}

# A balanced tree: leaves `x*k + y` (2 nodes each) summed pairwise (1 node each).
tree() {
    local leaves=$(( $1 / 3 ))
    echo "pub fn graph(x: f64, y: f64) -> f64 {"
    for ((i = 0; i < leaves; i++)); do echo "    let l$i = x * $((i + 1)) + y;"; done
    local level=0 count=$leaves
    while (( count > 1 )); do
        local next=$(( (count + 1) / 2 ))
        for ((i = 0; i < next; i++)); do
            local a="l$((2 * i))" b="l$((2 * i + 1))"
            (( level > 0 )) && a="t${level}_$((2 * i))" && b="t${level}_$((2 * i + 1))"
            if (( 2 * i + 1 >= count )); then echo "    let t$((level + 1))_$i = $a;"
            else echo "    let t$((level + 1))_$i = $a + $b;"; fi
        done
        level=$((level + 1)); count=$next
    done
    echo "    t${level}_0"
    echo "}"
}

# Median seconds of rebuilding the crate at $1 with `cargo $2`.
rebuild() {
    local crate=$1 command=$2
    cargo $command -q --manifest-path "$crate/Cargo.toml" 2>/dev/null
    if command -v hyperfine >/dev/null; then
        hyperfine -N --warmup 1 --runs 5 --export-json "$crate/time.json" \
            --prepare "touch $crate/src/main.rs" \
            "cargo $command -q --manifest-path $crate/Cargo.toml" >/dev/null &&
            python3 -c "import json;print('%.2f' % json.load(open('$crate/time.json'))['results'][0]['median'])"
    else
        touch "$crate/src/main.rs"
        local start; start=$(date +%s.%N)
        cargo $command -q --manifest-path "$crate/Cargo.toml"
        python3 -c "print('%.2f' % ($(date +%s.%N) - $start))"
    fi
}

echo "| shape | nodes | \`cargo check\` (s) | \`cargo build --release\` (s) |"
echo "|---|---:|---:|---:|"
for shape in chain tree; do
    for nodes in 100 1000 10000; do
        crate="$work/${shape}_$nodes"
        mkdir -p "$crate/src"
        cat > "$crate/Cargo.toml" <<TOML
[package]
name = "compile_time_${shape}_$nodes"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
chainrule = { path = "$root" }

[workspace]
TOML
        {
            echo "chainrule::graph! {"
            "$shape" "$nodes"
            echo "}"
            echo "fn main() {"
            if [ "$shape" = chain ]; then
                echo "    println!(\"{:?}\", graph::value_and_grad(std::hint::black_box(0.5)));"
            else
                echo "    println!(\"{:?}\", graph::value_and_grad(std::hint::black_box(0.5), std::hint::black_box(0.25)));"
            fi
            echo "}"
        } > "$crate/src/main.rs"
        rm -f "$crate/src/lib.rs"
        export CARGO_TARGET_DIR="$work/target"
        echo "| $shape | $nodes | $(rebuild "$crate" check) | $(rebuild "$crate" "build --release") |"
    done
done
