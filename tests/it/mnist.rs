//! A classifier the size of MNIST's, 784-128-10 with ReLU and cross-entropy on batches of 32
//! in `f32`, trains on a stand-in dataset: ten noisy class prototypes in 784 dimensions.

use chainrule::loss::CrossEntropy;
use chainrule::nalgebra::SMatrix;
use chainrule::nn::{Linear, Module, ReLU, Sequential};
use chainrule::optim::{Optimizer, Sgd};
use chainrule::rand::{rngs::StdRng, RngExt, SeedableRng};

type Mnist = Sequential<(Linear<f32, 784, 128>, ReLU, Linear<f32, 128, 10>)>;

const BATCH: usize = 32;

/// A batch of noisy prototypes: sample `j` is prototype `j % 10` plus Gaussian-ish noise.
fn batch(
    prototypes: &SMatrix<f32, 784, 10>,
    rng: &mut StdRng,
) -> (Box<SMatrix<f32, 784, BATCH>>, [usize; BATCH]) {
    let classes: [usize; BATCH] = std::array::from_fn(|_| rng.random_range(0..10));
    let mut x = Box::new(SMatrix::<f32, 784, BATCH>::zeros());
    for (column, &class) in classes.iter().enumerate() {
        for row in 0..784 {
            let noise: f32 = rng.random_range(-1.0..1.0) + rng.random_range(-1.0..1.0);
            x[(row, column)] = prototypes[(row, class)] + 0.5 * noise;
        }
    }
    (x, classes)
}

/// Fixed-size matrices live on the stack: a 784×128 weight is 400 KB, and an unoptimised
/// build keeps every temporary of a step, several of them that size, in its own stack slot.
/// So the model lives in a `Box`, and the step runs on a thread with 16 MiB of stack: 8 MiB
/// (a `main` thread's) is enough unoptimised, test threads get 2 MiB, and an optimised
/// build needs about 2.5 MiB.
#[test]
fn an_mnist_sized_classifier_trains_on_noisy_prototypes() {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(train)
        .expect("a thread")
        .join()
        .expect("training succeeds");
}

fn train() {
    let mut rng = StdRng::seed_from_u64(0);
    let prototypes = Box::new(SMatrix::<f32, 784, 10>::from_fn(|_, _| {
        if rng.random_bool(0.2) {
            1.0
        } else {
            0.0
        }
    }));
    let mut model = Box::new(Mnist::init(&mut rng));
    let mut sgd = Sgd::new(0.05).momentum(0.9);
    for _ in 0..60 {
        let (x, classes) = batch(&prototypes, &mut rng);
        let (loss, grads) = model.loss_and_grad(&*x, &classes, CrossEntropy);
        assert!(loss.is_finite());
        sgd.step(&mut *model, &grads);
    }
    let (x, classes) = batch(&prototypes, &mut rng);
    let logits = model.forward(&*x);
    let correct = (0..BATCH)
        .filter(|&j| logits.column(j).imax() == classes[j])
        .count();
    assert!(correct >= 30, "{correct}/{BATCH} correct on a fresh batch");
}
