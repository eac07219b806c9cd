//! The portable kernel's contract: every output is the ascending chain of fused
//! multiply-adds (`libm::fmaf`, correctly rounded), to the bit, whichever instruction set
//! computes it: AVX2+FMA on x86-64, NEON on aarch64 (run under `qemu-aarch64` by
//! `scripts/test-all.sh`), the Cortex-M4F's assembly (`tests/tests/device_kernel.rs`),
//! scalar code elsewhere.

use microdense_core::{Mat, MatMul, Portable, Rng};

#[test]
fn every_output_is_the_ascending_fma_chain_to_the_bit() {
    let mut rng = Rng::new(5);
    let mut values = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.next_f32() * 2.0 - 1.0).collect() };
    for (m, k, n) in [
        (3, 37, 17),
        (2, 784, 50),
        (1, 5, 8),
        (4, 9, 1),
        (2, 64, 23),
        (1, 3, 7),
    ] {
        let a = values(m * k);
        let b = values(k * n);
        for (a_view, b_view) in [
            (Mat::row_major(&a, k), Mat::row_major(&b, n)),
            (Mat::transposed(&a, m), Mat::transposed(&b, k)),
            (Mat::row_major(&a, k), Mat::transposed(&b, k)),
        ] {
            let mut c = vec![f32::NAN; m * n];
            Portable.matmul(m, k, n, a_view, b_view, &mut c).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let mut want = 0.0f32;
                    for p in 0..k {
                        let x = a_view.data[i * a_view.row_stride + p * a_view.col_stride];
                        let w = b_view.data[p * b_view.row_stride + j * b_view.col_stride];
                        want = libm::fmaf(x, w, want);
                    }
                    assert_eq!(
                        c[i * n + j].to_bits(),
                        want.to_bits(),
                        "{m}×{k}×{n}, ({i}, {j}): {} vs {want}",
                        c[i * n + j]
                    );
                }
            }
        }
    }
}
