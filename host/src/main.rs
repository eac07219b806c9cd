//! The `microdense` command-line tool.

fn main() {
    std::process::exit(microdense::cli::run());
}
