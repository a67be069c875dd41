use chainrule::nn::{Sequential, Tanh};
use chainrule::rand::{rngs::StdRng, SeedableRng};

type T = Tanh;
/// 25 layers: one too many.
type Deep = Sequential<(
    T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T, T,
)>;

fn main() {
    let _ = Deep::init(&mut StdRng::seed_from_u64(0));
}
