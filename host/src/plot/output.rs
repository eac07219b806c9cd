//! Getting pictures out: PNG encoding.

use super::PlotError;

/// Encodes opaque RGB pixels (three bytes each, row by row) as a PNG; `dpi`, when
/// given, is recorded in a pHYs chunk so viewers know the intended physical size.
pub fn encode_png(width: u32, height: u32, pixels: &[u8], dpi: Option<f32>) -> Result<Vec<u8>, PlotError> {
    let expected = width as usize * height as usize * 3;
    if pixels.len() != expected {
        return Err(PlotError::Pixels {
            width,
            height,
            expected,
            actual: pixels.len(),
        });
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        if let Some(dpi) = dpi {
            let per_meter = (dpi / 0.0254).round() as u32;
            encoder.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_meter,
                yppu: per_meter,
                unit: png::Unit::Meter,
            }));
        }
        let mut writer = encoder.write_header()?;
        writer.write_image_data(pixels)?;
        writer.finish()?;
    }
    Ok(out)
}
