//! The names issues 8 and 10 fix, used exactly as the issues write them, with exactly their
//! imports: if this file compiles and passes, so does code written from the issues.

use chainrule::nalgebra::{SMatrix, SVector};
use chainrule::nn::{Linear, ReLU, Sequential, Sigmoid, Tanh};
use chainrule::optim::{Adam, AdamW, Optimizer, Sgd};

#[test]
fn the_runtime_api_reads_as_issue_8_writes_it() -> Result<(), Box<dyn std::error::Error>> {
    use chainrule::rand::{rngs::StdRng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(8);
    let x = SMatrix::<f32, 2, 32>::from_fn(|r, c| (r as f32 - c as f32) * 0.05);
    let y = SMatrix::<f32, 1, 32>::from_fn(|_, c| (c as f32 * 0.1).sin());

    type Mlp = Sequential<(Linear<f32, 2, 16>, Tanh, Linear<f32, 16, 1>)>;
    let mut model = Mlp::init(&mut rng); // PyTorch's default nn.Linear init
    let y_hat: SMatrix<f32, 1, 32> = model.forward(&x); // x: SMatrix<f32, 2, 32>
    let (loss, grads) = model.loss_and_grad(&x, &y, chainrule::loss::Mse);
    let mut opt = Adam::new(1e-2);
    opt.step(&mut model, &grads);
    let path = std::env::temp_dir().join(format!(
        "chainrule-contract-{}.safetensors",
        std::process::id()
    ));
    model.save_safetensors(&path)?; // path: &Path, &PathBuf or &str
    let same = Mlp::load_safetensors(&path)?;
    model.save_safetensors(path.as_path())?;
    model.save_safetensors(path.to_str().expect("a UTF-8 temp path"))?;
    std::fs::remove_file(&path)?;
    assert_eq!(same, model);
    assert!(loss.is_finite() && y_hat.iter().all(|v| v.is_finite()));

    let mut w = SVector::<f64, 4>::zeros(); // any parameter type, not only models
    let g = SVector::<f64, 4>::new(1.0, -2.0, 0.5, 0.0);
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    sgd.step(&mut w, &g); // g: SVector<f64, 4>
    assert_eq!(w, SVector::<f64, 4>::new(-0.1, 0.2, -0.05, 0.0));

    // The other names the issue lists.
    let _ = Linear::new(SMatrix::<f64, 3, 2>::zeros(), SVector::<f64, 3>::zeros());
    type Five = Sequential<(
        Linear<f32, 2, 8>,
        ReLU,
        Linear<f32, 8, 8>,
        Sigmoid,
        Linear<f32, 8, 1>,
    )>;
    let five = Five::init(&mut rng);
    let _: SMatrix<f32, 1, 32> = five.forward(&x);
    let mut adamw = AdamW::new(1e-3)
        .betas(0.9, 0.999)
        .eps(1e-8)
        .weight_decay(1e-2)
        .amsgrad(true);
    let (_, grads) = five.loss_and_grad(&x, &y, chainrule::loss::Mse);
    let mut five = five;
    adamw.step(&mut five, &grads);
    Ok(())
}

chainrule::graph! {
    #[hessian]
    pub fn rosenbrock(x: f64, y: f64) -> f64 { (1 - x)^2 + 100*(y - x^2)^2 }
}

#[test]
fn hessians_read_as_issue_10_writes_them() {
    let (x, y) = (-1.2, 1.0);
    let h: SMatrix<f64, 2, 2> = rosenbrock::hessian(x, y);
    let hv: rosenbrock::Grad = rosenbrock::hvp(x, y, rosenbrock::Grad { x: 1.0, y: 0.0 });
    // ∂²f/∂x² = 2 − 400(y − x²) + 800x², ∂²f/∂x∂y = −400x.
    assert!((h[(0, 0)] - (2.0 - 400.0 * (y - x * x) + 800.0 * x * x)).abs() < 1e-9);
    assert!((h[(0, 1)] + 400.0 * x).abs() < 1e-9 && h[(0, 1)] == h[(1, 0)]);
    assert_eq!((hv.x, hv.y), (h[(0, 0)], h[(1, 0)]));
    assert!(rosenbrock::check_gradient(x, y).is_ok());
}
