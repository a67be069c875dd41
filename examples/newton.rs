//! Minimises the Rosenbrock function from the classic start (−1.2, 1) twice: with Newton's
//! method, which steps by the Hessian that `#[hessian]` generates, and with gradient descent,
//! which sees only the gradient. Both stop when the gradient's norm falls below `TOLERANCE`;
//! the example prints how many steps each took and exits with 1 if either fails.
//!
//! `cargo run --release --example newton`

use std::process::ExitCode;

use chainrule::graph;
use chainrule::nalgebra::Vector2;

graph! {
    /// Rosenbrock's banana: a long curved valley with its minimum 0 at (1, 1).
    #[hessian]
    pub fn rosenbrock(x: f64, y: f64) -> f64 {
        (1 - x)^2 + 100*(y - x^2)^2
    }
}

/// Both methods stop at a gradient this small.
const TOLERANCE: f64 = 1e-8;

fn gradient(p: Vector2<f64>) -> (f64, Vector2<f64>) {
    let (value, grad) = rosenbrock::value_and_grad(p.x, p.y);
    (value, Vector2::new(grad.x, grad.y))
}

/// Newton's method: solve H·s = ∇f and step by −s. Returns the point and the step count, or
/// `None` if the Hessian is singular or it takes more than `max_steps`.
fn newton(start: Vector2<f64>, max_steps: usize) -> Option<(Vector2<f64>, usize)> {
    let mut p = start;
    for step in 0..=max_steps {
        let (_, grad) = gradient(p);
        if grad.norm() < TOLERANCE {
            return Some((p, step));
        }
        let hessian = rosenbrock::hessian(p.x, p.y);
        p -= hessian.lu().solve(&grad)?;
    }
    None
}

/// Gradient descent with a backtracking (Armijo) line search, so that no step size has to be
/// tuned by hand: halve the step until it decreases f enough, then try a larger one next time.
fn gradient_descent(start: Vector2<f64>, max_steps: usize) -> Option<(Vector2<f64>, usize)> {
    let mut p = start;
    let mut rate = 1.0;
    for step in 0..=max_steps {
        let (value, grad) = gradient(p);
        let norm_squared = grad.norm_squared();
        if norm_squared.sqrt() < TOLERANCE {
            return Some((p, step));
        }
        loop {
            let next = p - grad * rate;
            if rosenbrock::forward(next.x, next.y) <= value - 0.5 * rate * norm_squared {
                p = next;
                break;
            }
            rate *= 0.5;
            if rate < 1e-20 {
                return None;
            }
        }
        rate *= 2.0;
    }
    None
}

fn main() -> ExitCode {
    let start = Vector2::new(-1.2, 1.0);
    let minimum = Vector2::new(1.0, 1.0);
    println!(
        "Rosenbrock from ({}, {}), until |∇f| < {TOLERANCE:e}:",
        start.x, start.y
    );
    let Some((newton_point, newton_steps)) = newton(start, 50) else {
        eprintln!("Newton's method did not converge in 50 steps");
        return ExitCode::FAILURE;
    };
    println!(
        "  Newton's method:  {newton_steps:>7} steps, to ({:.12}, {:.12})",
        newton_point.x, newton_point.y
    );
    let Some((descent_point, descent_steps)) = gradient_descent(start, 1_000_000) else {
        eprintln!("gradient descent did not converge in 1,000,000 steps");
        return ExitCode::FAILURE;
    };
    println!(
        "  gradient descent: {descent_steps:>7} steps, to ({:.12}, {:.12})",
        descent_point.x, descent_point.y
    );
    let near = |p: Vector2<f64>| (p - minimum).norm() < 1e-6;
    if !near(newton_point) || !near(descent_point) {
        eprintln!("a method stopped away from the minimum (1, 1)");
        return ExitCode::FAILURE;
    }
    if newton_steps > 10 || newton_steps * 100 > descent_steps {
        eprintln!("Newton's method took {newton_steps} steps, gradient descent {descent_steps}: expected a handful against thousands");
        return ExitCode::FAILURE;
    }
    println!(
        "Newton's method took {:.0}× fewer steps.",
        descent_steps as f64 / newton_steps as f64
    );
    ExitCode::SUCCESS
}
