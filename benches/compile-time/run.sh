#!/usr/bin/env bash
# The compile time `graph!` adds, by graph size: for chains and balanced trees of 100, 1,000
# and 10,000 nodes, generate a binary crate holding one graph and calling its
# `value_and_grad` (so rustc generates its code), build it once so its dependencies are
# cached, then time rebuilding just that crate: `cargo check` (expansion and type checking, the
# edit loop) and `cargo build --release` (everything, LLVM included).
#
#   bash benches/compile-time/run.sh            # prints a Markdown table
#   bash benches/compile-time/run.sh mnist      # the same for the 784-128-10 classifier
#
# The `mnist` mode times crates holding the MNIST-sized classifier of `benches/mnist.rs`
# (784-128-10, ReLU, cross-entropy, batch 32, f32) and running one value-and-gradient step:
# written as one `graph!`, as a `Sequential`, and both forms in one crate; and, for rustc's
# fixed cost per crate, one that depends on chainrule and holds no model.
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

# A binary crate at $1 named $2 depending on chainrule, its `main.rs` from standard input.
write_crate() {
    local crate=$1 name=$2
    mkdir -p "$crate/src"
    cat > "$crate/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
chainrule = { path = "$root" }

[workspace]
TOML
    cat > "$crate/src/main.rs"
}

# The classifier as one `graph!`, as a user writes it, and a step of it on a boxed batch.
mnist_graph() {
    cat <<'RUST'
chainrule::graph! {
    pub fn mnist_loss(w1: SMatrix<f32, 128, 784>, b1: SVector<f32, 128>,
                      w2: SMatrix<f32, 10, 128>, b2: SVector<f32, 10>,
                      #[no_grad] x: SMatrix<f32, 784, 32>, #[no_grad] y: SMatrix<f32, 10, 32>) -> f32 {
        let h = relu(w1 * x + b1);
        batch_cross_entropy(w2 * h + b2, y)
    }
}

fn graph_step() {
    use chainrule::nalgebra::{SMatrix, SVector};
    let w1 = Box::new(SMatrix::<f32, 128, 784>::from_fn(|r, c| ((r * 7 + c * 3) % 11) as f32 * 0.01 - 0.05));
    let w2 = SMatrix::<f32, 10, 128>::from_fn(|r, c| ((r + c) % 7) as f32 * 0.01);
    let x = Box::new(SMatrix::<f32, 784, 32>::from_fn(|r, c| ((r + c) % 5) as f32 * 0.25));
    let classes: [usize; 32] = std::array::from_fn(|j| j % 10);
    let y = chainrule::loss::one_hot::<f32, 10, 32>(&classes);
    let (loss, grad) = mnist_loss::value_and_grad(*w1, SVector::zeros(), w2, SVector::zeros(), **std::hint::black_box(&x), y);
    println!("graph: loss {loss}, |dW1| {}", grad.w1.norm());
}
RUST
}

# The classifier as a `Sequential`, and a step of it on a boxed batch.
mnist_sequential() {
    cat <<'RUST'
type Mnist = chainrule::nn::Sequential<(
    chainrule::nn::Linear<f32, 784, 128>,
    chainrule::nn::ReLU,
    chainrule::nn::Linear<f32, 128, 10>,
)>;

fn sequential_step() {
    use chainrule::nn::Module;
    use chainrule::rand::SeedableRng;
    let model = Box::new(Mnist::init(&mut chainrule::rand::rngs::StdRng::seed_from_u64(0)));
    let x = Box::new(chainrule::nalgebra::SMatrix::<f32, 784, 32>::from_fn(|r, c| ((r + c) % 5) as f32 * 0.25));
    let classes: [usize; 32] = std::array::from_fn(|j| j % 10);
    let (loss, grads) = model.loss_and_grad(std::hint::black_box(&*x), &classes, chainrule::loss::CrossEntropy);
    println!("sequential: loss {loss}, |dW1| {}", grads.layers.0.weight.norm());
}
RUST
}

if [ "${1:-}" = mnist ]; then
    export CARGO_TARGET_DIR="$work/target"
    echo "| 784-128-10 classifier | \`cargo check\` (s) | \`cargo build --release\` (s) |"
    echo "|---|---:|---:|"
    for form in none graph sequential both; do
        crate="$work/mnist_$form"
        {
            case $form in
                none) echo 'fn main() { println!("{}", chainrule::nalgebra::SMatrix::<f32, 2, 2>::identity()); }' ;;
                graph) mnist_graph; echo "fn main() { graph_step(); }" ;;
                sequential) mnist_sequential; echo "fn main() { sequential_step(); }" ;;
                both) mnist_graph; mnist_sequential; echo "fn main() { graph_step(); sequential_step(); }" ;;
            esac
        } | write_crate "$crate" "compile_time_mnist_$form"
        echo "| $form | $(rebuild "$crate" check) | $(rebuild "$crate" "build --release") |"
    done
    exit 0
fi

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
