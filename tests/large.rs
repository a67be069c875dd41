//! Models of MNIST's size run with default stacks, in debug and release builds (CI runs this
//! file both ways): a graph on a 2 MiB thread (a spawned thread's default, and a test's),
//! whose `_into` forms write the gradient into memory the caller owns, on the heap; and issue
//! 15's contract, a 784-1024-10 `Sequential`, in a spawned thread, a rayon task and a test.

use chainrule::graph;
use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::runtime::heap;

graph! {
    /// The 784-128-10 MLP with ReLU and cross-entropy, on a batch of 32 in `f32`.
    fn mnist_mlp(
        w1: SMatrix<f32, 128, 784>,
        b1: SVector<f32, 128>,
        w2: SMatrix<f32, 10, 128>,
        b2: SVector<f32, 10>,
        #[no_grad] x: SMatrix<f32, 784, 32>,
        #[no_grad] y: SMatrix<f32, 10, 32>,
    ) -> f32 {
        let h = relu(w1 * x + b1);
        batch_cross_entropy(w2 * h + b2, y)
    }
}

/// The parameters and a batch, each on the heap.
struct Point {
    w1: Box<SMatrix<f32, 128, 784>>,
    b1: SVector<f32, 128>,
    w2: Box<SMatrix<f32, 10, 128>>,
    b2: SVector<f32, 10>,
    x: Box<SMatrix<f32, 784, 32>>,
    y: Box<SMatrix<f32, 10, 32>>,
}

/// A matrix of a fixed wave, made on the heap in place (never on the stack).
fn wave<const R: usize, const C: usize>(salt: f32, scale: f32) -> Box<SMatrix<f32, R, C>> {
    let mut m = heap::zeros::<SMatrix<f32, R, C>>();
    for (i, element) in m.iter_mut().enumerate() {
        let (r, c) = (i % R, i / R);
        *element = scale * ((r * 31 + c * 17) as f32 * 0.013 + salt).sin();
    }
    m
}

fn point() -> Point {
    let mut y = heap::zeros::<SMatrix<f32, 10, 32>>();
    for sample in 0..32 {
        y[(sample * 7 % 10, sample)] = 1.0;
    }
    Point {
        w1: wave(0.1, 0.05),
        b1: *wave(0.2, 0.1),
        w2: wave(0.3, 0.1),
        b2: *wave(0.4, 0.1),
        x: wave(0.5, 1.0),
        y,
    }
}

/// The loss and the gradient by `value_and_grad_into`, on a thread of `stack` bytes.
fn into_on_a_thread(stack: usize) -> (f32, Box<mnist_mlp::Grad>) {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(|| {
            let p = point();
            let mut grad = mnist_mlp::Grad::boxed();
            let loss = mnist_mlp::value_and_grad_into(
                *p.w1,
                p.b1,
                *p.w2,
                p.b2,
                *p.x,
                *p.y,
                grad.fields_mut(),
            );
            (loss, grad)
        })
        .expect("a thread")
        .join()
        .expect("no stack overflow")
}

#[test]
fn value_and_grad_into_runs_on_a_two_mebibyte_thread_and_agrees_with_value_and_grad() {
    let (loss, grad) = into_on_a_thread(2 << 20);
    // The by-value form, on a stack large enough for its 400 KB gradient.
    let (expected_loss, expected) = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let p = point();
            let (loss, grad) = mnist_mlp::value_and_grad(*p.w1, p.b1, *p.w2, p.b2, *p.x, *p.y);
            (loss, Box::new(grad))
        })
        .expect("a thread")
        .join()
        .expect("no stack overflow");
    assert!(loss.is_finite() && loss > 0.0);
    assert_eq!(loss, expected_loss);
    assert_eq!(*grad, *expected);
    assert!(grad.w1.norm() > 0.0, "the gradient was written");
}

#[test]
fn backward_into_writes_every_field_and_leaves_nothing_from_before() {
    // Each call in a function of its own: its 500 KB of arguments are copied into that
    // function's frame, which an unoptimised build keeps until it returns.
    fn backward_into(p: &Point, grad: &mut mnist_mlp::Grad) {
        mnist_mlp::backward_into(*p.w1, p.b1, *p.w2, p.b2, *p.x, *p.y, 1.0, grad.fields_mut());
    }
    let p = point();
    let mut fresh = mnist_mlp::Grad::boxed();
    backward_into(&p, &mut fresh);
    // Into a gradient full of stale values: every element is overwritten.
    let mut stale = mnist_mlp::Grad::boxed();
    stale.w1.fill(f32::NAN);
    stale.b1.fill(7.0);
    stale.w2.fill(-3.0);
    stale.b2.fill(f32::INFINITY);
    backward_into(&p, &mut stale);
    assert_eq!(*stale, *fresh);
}

mod sequential {
    //! Issue 15's contract: a 784-1024-10 `Sequential` (3.2 MB of weights, as much again of
    //! gradient, and Adam's two moments) initialised, trained, saved and loaded with default
    //! stacks: in a spawned thread, in a rayon task, and in a test's own thread.

    use chainrule::loss::CrossEntropy;
    use chainrule::nalgebra::SMatrix;
    use chainrule::nn::{Linear, ReLU, Sequential};
    use chainrule::optim::{Adam, Optimizer};
    use chainrule::rand::{rngs::StdRng, SeedableRng};
    use chainrule::runtime::heap;
    use chainrule::Parameters;

    type Big = Sequential<(Linear<f32, 784, 1024>, ReLU, Linear<f32, 1024, 10>)>;

    /// Five Adam steps on one batch, a save and a load; returns the losses.
    fn train_save_and_load() -> Vec<f32> {
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut x = heap::zeros::<SMatrix<f32, 784, 32>>();
        for (i, pixel) in x.iter_mut().enumerate() {
            *pixel = ((i * 37 % 101) as f32 / 101.0).powi(2);
        }
        let y: [usize; 32] = std::array::from_fn(|sample| sample % 10);
        let mut model = Big::init(&mut StdRng::seed_from_u64(0));
        let mut opt = Adam::new(1e-3);
        let mut losses = Vec::new();
        for _ in 0..5 {
            let (loss, grads) = model.loss_and_grad(&*x, &y, CrossEntropy);
            opt.step(&mut model, &grads);
            losses.push(loss);
        }
        let out: SMatrix<f32, 10, 32> = model.forward(&*x);
        let path = std::env::temp_dir().join(format!(
            "chainrule-it-{}-big-{run}.safetensors",
            std::process::id()
        ));
        model.save_safetensors(&path).expect("saves");
        let loaded = Big::load_safetensors(&path).expect("loads");
        std::fs::remove_file(&path).expect("removes");
        let (mut saved, mut read) = (Vec::new(), Vec::new());
        model.visit(&mut |tensor| saved.extend_from_slice(tensor));
        loaded.visit(&mut |tensor| read.extend_from_slice(tensor));
        assert!(saved == read, "the loaded model is the saved one");
        assert_eq!(loaded.forward(&*x), out);
        losses
    }

    fn check(losses: &[f32]) {
        assert!(losses.iter().all(|loss| loss.is_finite()), "{losses:?}");
        assert!(
            losses[4] < losses[0],
            "Adam lowers the loss on one batch: {losses:?}"
        );
    }

    #[test]
    fn trains_in_a_spawned_thread_with_the_default_stack() {
        let losses = std::thread::spawn(train_save_and_load)
            .join()
            .expect("no stack overflow");
        check(&losses);
    }

    #[test]
    fn trains_in_a_rayon_task() {
        let mut losses = Vec::new();
        rayon::scope(|scope| scope.spawn(|_| losses = train_save_and_load()));
        check(&losses);
    }

    #[test]
    fn trains_in_a_test_thread() {
        check(&train_save_and_load());
    }

    /// `Trainer::fit_parallel` on rayon's global pool, whose threads have the default 2 MiB
    /// stacks, from a test's thread.
    #[test]
    fn trains_with_fit_parallel_on_the_global_pool() {
        use chainrule::data::Dataset;
        use chainrule::nalgebra::SVector;
        use chainrule::train::{ShowProgress, Trainer};
        let data: Dataset<f32, 784, usize> = (0..64)
            .map(|sample| {
                let pixels = SVector::from_fn(|i, _| ((i * 7 + sample) % 13) as f32 / 13.0);
                (pixels, sample % 10)
            })
            .collect();
        let model = Big::init(&mut StdRng::seed_from_u64(0));
        let mut trainer = Trainer::new(model, Adam::new(1e-3), CrossEntropy)
            .epochs(2)
            .progress_bar(ShowProgress::Never);
        trainer.fit_parallel::<32, 8>(&data).expect("trains");
        let losses = &trainer.history().steps;
        assert_eq!(losses.len(), 4);
        assert!(losses.iter().all(|loss| loss.is_finite()), "{losses:?}");
    }
}

#[path = "support/mnist_cnn.rs"]
mod mnist_cnn_network;

mod mnist_cnn {
    //! PyTorch's MNIST example network (issue 16) at batch 32: activations of megabytes (the
    //! second convolution's output is 36,864×32 `f32`s, 4.7 MB), on default stacks.

    use chainrule::loss::CrossEntropy;
    use chainrule::nn::Module;
    use chainrule::optim::{Optimizer, Sgd};
    use chainrule::rand::{rngs::StdRng, SeedableRng};

    use super::mnist_cnn_network::{batch, init, MnistCnn};

    /// `steps` SGD-with-momentum steps on one batch, dropout on; the losses.
    fn train(steps: usize) -> Vec<f32> {
        let (x, y) = batch();
        let mut model = init::<f32, _>(&mut StdRng::seed_from_u64(0));
        let mut grads = MnistCnn::<f32>::zeros();
        let mut sgd = Sgd::new(1e-2).momentum(0.9);
        (0..steps)
            .map(|_| {
                let loss = model.loss_and_grad_into(&*x, &y, CrossEntropy, &mut grads);
                sgd.step(&mut model, &grads);
                loss
            })
            .collect()
    }

    /// Two steps (one is a debug build's 20 s): an untrained network's loss is about ln 10
    /// on ten classes.
    #[test]
    fn trains_in_a_spawned_thread_with_the_default_stack() {
        let losses = std::thread::spawn(|| train(2))
            .join()
            .expect("no stack overflow");
        for loss in losses {
            assert!((loss - 10f32.ln()).abs() < 0.2, "{loss} is not about ln 10");
        }
    }

    /// Central differences take eighteen forward passes, minutes unoptimised, so only the
    /// release run (`.ci/run`) checks them.
    #[cfg(not(debug_assertions))]
    mod central_differences {
        use chainrule::loss::{CrossEntropy, Loss};
        use chainrule::nalgebra::SMatrix;
        use chainrule::nn::{Mode, Module};
        use chainrule::rand::{rngs::StdRng, SeedableRng};
        use chainrule::runtime::heap;
        use chainrule::Parameters;

        use super::super::mnist_cnn_network::{batch, init, MnistCnn, BATCH};

        /// The loss on the batch in evaluation mode (no dropout), through the heap.
        fn loss(model: &MnistCnn<f64>, x: &SMatrix<f64, 784, BATCH>, y: &[usize; BATCH]) -> f64 {
            let (output, _) = Module::forward_with_tape(model, x);
            CrossEntropy.loss_and_grad(&output, y).0
        }

        fn norm_squared(values: &[f64]) -> f64 {
            values.iter().map(|v| v * v).sum()
        }

        /// Each tensor's gradient against central differences of the loss along it, in `f64`, in
        /// a test's own 2 MiB thread: (L(θ + εg) − L(θ − εg)) / 2ε is |g|², within 0.1%, for a
        /// step of 10⁻⁵ of the tensor's norm.
        #[test]
        fn each_tensors_gradient_matches_central_differences_along_it() {
            let (x32, y) = batch();
            let mut x = heap::zeros::<SMatrix<f64, 784, BATCH>>();
            x.iter_mut()
                .zip(x32.iter())
                .for_each(|(x, v)| *x = f64::from(*v));
            let mut model = init::<f64, _>(&mut StdRng::seed_from_u64(1));
            model.eval();
            let mut grads = MnistCnn::<f64>::zeros();
            model.loss_and_grad_into(&*x, &y, CrossEntropy, &mut grads);
            let (mut tensors, mut parameters) = (Vec::new(), Vec::new());
            grads.visit(&mut |g| tensors.push(g.to_vec()));
            model.visit(&mut |p| parameters.push(norm_squared(p).sqrt()));
            assert_eq!(
                tensors.len(),
                8,
                "four layers with a weight and a bias each"
            );
            for (k, g) in tensors.iter().enumerate() {
                let norm2 = norm_squared(g);
                assert!(norm2 > 0.0, "tensor {k} has a gradient");
                let epsilon = 1e-5 * parameters[k] / norm2.sqrt();
                let moved = |sign: f64| {
                    let mut shifted = model.clone();
                    let mut n = 0;
                    shifted.visit_mut(&mut |tensor| {
                        if n == k {
                            for (value, slope) in tensor.iter_mut().zip(g) {
                                *value += sign * epsilon * slope;
                            }
                        }
                        n += 1;
                    });
                    loss(&shifted, &x, &y)
                };
                let slope = (moved(1.0) - moved(-1.0)) / (2.0 * epsilon);
                assert!(
                    (slope - norm2).abs() < 1e-3 * norm2,
                    "tensor {k}: central difference {slope} against |g|² = {norm2}"
                );
            }
        }
    }
}
