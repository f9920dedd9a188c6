#!/bin/sh
# Coverage-guided fuzzing of the boot image parser on a STABLE toolchain, without cargo-fuzz.
#
#   boot-image/fuzz/fuzz-stable.sh [SECONDS]        (default 60)
#
# Builds fuzz_targets/parse.rs with the same sanitizer-coverage instrumentation cargo-fuzz
# uses (minus AddressSanitizer, which needs nightly; the verifier has no unsafe code), with
# debug assertions and overflow checks on, seeds the corpus with the test vectors, and runs
# libFuzzer. Crashes land in boot-image/fuzz/artifacts/parse/.
# With cargo-fuzz and nightly instead: cd boot-image/fuzz && cargo +nightly fuzz run parse
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
host=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
# --target keeps these flags off build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$host" --manifest-path "$here/Cargo.toml" --bin parse

corpus="$here/corpus/parse"
mkdir -p "$corpus" "$here/artifacts/parse"
if command -v xxd >/dev/null 2>&1; then
  for vector in "$here"/../../testdata/boot-image/*.vector; do
    sed '1,/^image:/d' "$vector" | xxd -r -p >"$corpus/seed-$(basename "$vector" .vector)"
  done
else
  echo "xxd not found: starting without the test vectors as seeds" >&2
fi
exec "$CARGO_TARGET_DIR/$host/release/parse" -max_total_time="$seconds" -max_len=65536 \
  -artifact_prefix="$here/artifacts/parse/" "$corpus"
