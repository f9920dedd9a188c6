//! End-to-end scenarios that cross crates live in this package's tests:
//! the office's election definition (TOML) drives the firmware's terminal, whose sealed
//! records the office opens and recounts. The simulator's end-to-end tests (boot image ->
//! wasm payload under wasmi -> screenshots) are in `simulator/tests`.
