//! The `leitmotif` command line.
fn main() {}
