//! Build helper (work in progress).
fn main() {}
