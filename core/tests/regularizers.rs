//! Dense's regularizers (penalty and its gradient by finite differences) and constraints
//! (Keras's formulas on a kernel `inputs × units` and a bias), computed by hand.
#![cfg(not(feature = "micromath"))]

use microdense_core::{Constraint, NormAxis, Regularizer, Rng};

#[test]
fn regularizer_gradients_match_finite_differences() {
    let mut rng = Rng::new(3);
    let r = Regularizer { l1: 0.03, l2: 0.2 };
    let w: Vec<f32> = (0..12).map(|_| rng.next_f32() * 2.0 - 1.0).collect();
    let mut grad = vec![0.5; w.len()];
    r.add_gradient(&w, &mut grad);
    for i in 0..w.len() {
        let h = 1e-3;
        let (mut hi, mut lo) = (w.clone(), w.clone());
        hi[i] += h;
        lo[i] -= h;
        let numeric = (r.loss(&hi) - r.loss(&lo)) / (2.0 * h);
        assert!(
            (grad[i] - 0.5 - numeric).abs() < 1e-3,
            "{i}: {} vs {numeric}",
            grad[i] - 0.5
        );
    }
    // l1 * sum|w| + l2 * sum w^2 for a hand-picked tensor.
    let value = Regularizer { l1: 0.1, l2: 0.5 }.loss(&[1.0, -2.0, 0.0]);
    assert!((value - (0.1 * 3.0 + 0.5 * 5.0)).abs() < 1e-6, "{value}");
}

#[test]
fn constraints_follow_keras_axis_semantics() {
    // Kernel 2 inputs × 2 units: columns (units) have norms 5 and 1, rows 3.16 and 4.12.
    let kernel = [3.0f32, 1.0, 4.0, 0.0];
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5);

    let mut w = kernel;
    Constraint::MaxNorm {
        max_value: 2.0,
        axis: NormAxis::Inputs,
    }
    .apply(&mut w, 2, 2);
    assert!(close(&w, &[1.2, 1.0, 1.6, 0.0]), "{w:?}"); // unit 0 scaled 5 → 2, unit 1 kept

    let mut w = kernel;
    Constraint::UnitNorm {
        axis: NormAxis::Units,
    }
    .apply(&mut w, 2, 2);
    let r0 = 10f32.sqrt();
    assert!(close(&w, &[3.0 / r0, 1.0 / r0, 1.0, 0.0]), "{w:?}");

    let mut w = kernel;
    let mmn = Constraint::MinMaxNorm {
        min_value: 2.0,
        max_value: 4.0,
        rate: 0.5,
        axis: NormAxis::Inputs,
    };
    mmn.apply(&mut w, 2, 2);
    // unit 0: 0.5 * 4 + 0.5 * 5 = 4.5; unit 1: 0.5 * 2 + 0.5 * 1 = 1.5.
    assert!(close(&w, &[3.0 * 0.9, 1.5, 4.0 * 0.9, 0.0]), "{w:?}");

    let mut w = [1.0f32, -2.0, 0.5];
    Constraint::NonNeg.apply(&mut w, 3, 1);
    assert_eq!(w, [1.0, 0.0, 0.5]);

    // A bias is one vector whatever the axis.
    let mut b = [3.0f32, 4.0];
    Constraint::MaxNorm {
        max_value: 1.0,
        axis: NormAxis::Units,
    }
    .apply(&mut b, 2, 1);
    assert!(close(&b, &[0.6, 0.8]), "{b:?}");
}
