//! `microdense predict`: class scores for every MNIST test image, as a NumPy `.npy`.

use super::data::DataArgs;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Options of `microdense predict`.
#[derive(clap::Args, Debug)]
pub struct PredictArgs {
    #[command(flatten)]
    model: super::ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    /// Where to write the scores: float32, shape (images, classes); `-` for standard output.
    #[arg(long)]
    out: PathBuf,
}

/// Runs `microdense predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    super::check_output(&args.out)?;
    let model = args.model.load()?;
    let data = args.data.load()?;
    let test = data.test()?;
    let scores = model.predict(&test)?;
    let rows = test.len();
    let cols = scores.len() / rows.max(1);
    microdense::atomic::write(&args.out, &npy_f32(rows, cols, &scores))
        .with_context(|| super::cannot_write(&args.out))?;
    let written = format!("Wrote {} ({rows} × {cols} float32)", args.out.display());
    if args.out.as_os_str() != microdense::atomic::STDOUT && args.out.is_file() {
        println!("{written}");
    } else {
        // The scores went to standard output, a pipe or a device: keep stdout theirs.
        eprintln!("{written}");
    }
    Ok(())
}

/// A NumPy `.npy` (format 1.0) of a little-endian float32 `rows × cols` matrix.
fn npy_f32(rows: usize, cols: usize, values: &[f32]) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn npy_header_is_aligned_and_describes_the_matrix() {
        let bytes = super::npy_f32(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(header.contains("'shape': (2, 3)") && header.contains("'<f4'"));
        assert_eq!(bytes.len(), 10 + header_len + 24);
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 4],
            &1.0f32.to_le_bytes()
        );
    }
}
