//! Helpers shared by the boot-image integration tests: a scratch directory, running the
//! `boot-image` binary, and the one-test-per-vector-file macro. Each test crate uses a part.
#![allow(dead_code, unused_macros)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The `boot-image` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_boot-image");

/// A fresh directory for one test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `<temp>/boot-image-test-<pid>-<name>`, emptied first.
    pub fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("boot-image-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run the tool in `dir` with `stdin` as its input, without an inherited
/// SOURCE_DATE_EPOCH.
pub fn run_with_stdin(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // The tool may stop reading early (an error before the prompts): ignore a broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

/// Run the tool in `dir` with empty input, without an inherited SOURCE_DATE_EPOCH.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    run_with_stdin(dir, args, "")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// One test per named vector file (calling `check_vector(file)` of the using crate), and a
/// test that every `*.vector` file in the crate's `testdata()` has one.
macro_rules! vector_tests {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check_vector($file);
            }
        )*

        #[test]
        fn every_vector_file_has_a_test() {
            let tested: std::collections::BTreeSet<&str> = [$($file),*].into_iter().collect();
            let mut found = std::collections::BTreeSet::new();
            for entry in std::fs::read_dir(testdata()).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                if name.ends_with(".vector") {
                    found.insert(name);
                }
            }
            let found: std::collections::BTreeSet<&str> =
                found.iter().map(String::as_str).collect();
            assert_eq!(found, tested, "vector files and tests differ");
        }
    };
}
