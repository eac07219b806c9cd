//! The `microdense` command-line tool.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod cli;

fn main() {
    std::process::exit(cli::run());
}
