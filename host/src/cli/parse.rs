//! Value parsers of the numeric options: each refuses, when the arguments are parsed, what
//! its option cannot mean, saying what it accepts (clap names the option and the value).

use microdense_core::protocol::MAX_BATCH;

/// A finite number (NaN and infinities are refused).
fn finite(s: &str) -> Result<f32, String> {
    let value: f32 = s.trim().parse().map_err(|_| "not a number".to_string())?;
    if value.is_finite() {
        Ok(value)
    } else {
        Err("must be a finite number".into())
    }
}

/// A learning rate: a finite number above 0.
pub fn learning_rate(s: &str) -> Result<f32, String> {
    let value = finite(s)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err("must be positive (a learning rate above 0)".into())
    }
}

/// A momentum: a finite number from 0 to 1, as Keras's SGD requires.
pub fn momentum(s: &str) -> Result<f32, String> {
    let value = finite(s)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err("must be from 0 to 1".into())
    }
}

/// A fraction from 0 to 1 (label smoothing).
pub fn fraction(s: &str) -> Result<f32, String> {
    let value = finite(s)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err("must be from 0 to 1".into())
    }
}

/// A finite number above 0 (Huber's delta).
pub fn positive(s: &str) -> Result<f32, String> {
    let value = finite(s)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err("must be above 0".into())
    }
}

/// A count of at least 1 (sizes, limits, epochs).
pub fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("not a whole number from 1 to {}", usize::MAX)),
    }
}

/// A device batch: 1 to the protocol's [`MAX_BATCH`] samples.
pub fn device_batch(s: &str) -> Result<usize, String> {
    match at_least_one(s) {
        Ok(n) if n <= MAX_BATCH => Ok(n),
        _ => Err(format!(
            "must be from 1 to {MAX_BATCH} (the most samples a device takes in one step)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_the_options_cannot_mean() {
        assert_eq!(learning_rate("0.01"), Ok(0.01));
        for bad in ["-1", "0", "NaN", "inf", "x"] {
            assert!(learning_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(momentum("0.9"), Ok(0.9));
        for bad in ["-0.1", "1.5", "nan"] {
            assert!(momentum(bad).is_err(), "{bad}");
        }
        assert_eq!(at_least_one("9223372036854775807"), Ok(9223372036854775807));
        assert!(at_least_one("0").is_err() && at_least_one("-1").is_err());
        assert_eq!(device_batch("64"), Ok(64));
        assert_eq!(fraction("0.1"), Ok(0.1));
        assert!(fraction("1.1").is_err() && positive("0").is_err() && positive("nan").is_err());
        assert!(device_batch("65").is_err() && device_batch("18446744073709551615").is_err());
    }
}
