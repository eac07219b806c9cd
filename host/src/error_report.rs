//! One line for an error and its causes, as the CLI prints it and the Python package
//! raises it.

use std::error::Error;

/// `e`'s own text, then each [`Error::source`]'s after a colon: `cannot write out.h5:
/// Permission denied (os error 13)`. A cause whose text is already part of the line is
/// not repeated (some errors name their cause in their own text).
///
/// ```
/// use microdense::error_report::message;
/// let io = std::io::Error::other("disk full");
/// assert_eq!(message(&io), "disk full");
/// ```
pub fn message(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::message;
    use crate::fit::FitError;

    #[test]
    fn causes_follow_the_error_after_colons() {
        let engine = microdense_core::Error::LayerCount { count: 0 };
        let e = FitError::Engine(engine);
        assert_eq!(message(&e), format!("engine error: {engine}"));
    }
}
