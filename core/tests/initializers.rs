//! Initializers: the properties that define them, on shapes the Keras interop suite
//! (host/tests/keras_initializers.rs) does not draw.

use microdense_core::{Initializer, Rng};

#[test]
fn orthogonal_wide_kernels_have_orthonormal_rows() {
    let (rows, cols) = (5, 40);
    let mut kernel = vec![0.0f32; rows * cols];
    Initializer::Orthogonal { gain: 3.0 }.fill(&mut kernel, rows, cols, &mut Rng::new(3));
    for a in 0..rows {
        for b in 0..rows {
            let dot: f32 = (0..cols)
                .map(|i| kernel[a * cols + i] * kernel[b * cols + i])
                .sum();
            let want = if a == b { 9.0 } else { 0.0 };
            assert!((dot - want).abs() < 1e-4, "rows {a}·{b} = {dot}");
        }
    }
}

#[test]
fn identity_of_a_tall_kernel_is_ones_on_the_diagonal() {
    let mut kernel = [7.0f32; 12];
    Initializer::Identity { gain: 0.5 }.fill(&mut kernel, 4, 3, &mut Rng::new(1));
    assert_eq!(
        kernel,
        [0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0]
    );
}

#[test]
fn names_with_settings_parse_to_keras_defaults() {
    assert_eq!(
        Initializer::from_keras_name("random_normal"),
        Some(Initializer::RandomNormal {
            mean: 0.0,
            stddev: 0.05
        })
    );
    assert_eq!(
        Initializer::from_keras_name("IdentityInitializer"),
        Some(Initializer::Identity { gain: 1.0 })
    );
    assert_eq!(
        Initializer::from_keras_name("lecun_normal"),
        Some(Initializer::LecunNormal)
    );
    assert_eq!(
        Initializer::from_keras_name("Orthogonal"),
        Some(Initializer::Orthogonal { gain: 1.0 })
    );
    assert_eq!(Initializer::from_keras_name("he_normalish"), None);
    for named in Initializer::NAMED {
        assert_eq!(
            Initializer::from_keras_name(named.keras_name().unwrap()),
            Some(named)
        );
        assert_eq!(Initializer::from_keras_name(named.keras_class()), Some(named));
    }
}

#[test]
fn the_default_kernel_initializer_draws_what_it_always_drew() {
    // Glorot uniform's draws are part of every seeded training run's result.
    let mut kernel = [0.0f32; 4];
    Initializer::GlorotUniform.fill(&mut kernel, 2, 2, &mut Rng::new(42));
    let mut rng = Rng::new(42);
    let limit = (6.0f32 / 4.0).sqrt();
    let expected: Vec<f32> = (0..4).map(|_| (rng.next_f32() * 2.0 - 1.0) * limit).collect();
    assert_eq!(kernel.to_vec(), expected);
}
