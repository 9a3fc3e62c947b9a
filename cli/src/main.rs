//! `rasp`: check policies and read librasp's events.
fn main() {}
