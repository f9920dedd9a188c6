#!/bin/sh
# Coverage-guided fuzzing on a STABLE toolchain, without cargo-fuzz.
#
#   boot-image/fuzz/fuzz-stable.sh [TARGET] [SECONDS]        (default: parse, 60 s)
#
# Targets: `parse` (the boot image parser and verifier) and `sealed_record` (the office's
# sealed record readers: seal::open, RecordBody::decode + load, and the media walk). A lone
# number is taken as SECONDS for `parse`, as before targets were named.
#
# Builds fuzz_targets/TARGET.rs with the same sanitizer-coverage instrumentation cargo-fuzz
# uses (minus AddressSanitizer, which needs nightly; the code under test has no unsafe code),
# with debug assertions and overflow checks on, seeds the corpus with the test vectors, and
# runs libFuzzer. Crashes land in boot-image/fuzz/artifacts/TARGET/.
# With cargo-fuzz and nightly instead: cd boot-image/fuzz && cargo +nightly fuzz run TARGET
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=parse
case "${1:-}" in
  ''|*[!0-9]*) target=${1:-parse}; seconds=${2:-60} ;;
  *) seconds=$1 ;;
esac
case "$target" in
  parse|sealed_record) ;;
  *) echo "fuzz-stable.sh: unknown target \`$target' (parse or sealed_record)" >&2; exit 2 ;;
esac
host=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
# --target keeps these flags off build scripts and proc macros, as cargo-fuzz does.
RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
  cargo build --release --target "$host" --manifest-path "$here/Cargo.toml" --bin "$target"

corpus="$here/corpus/$target"
mkdir -p "$corpus" "$here/artifacts/$target"
if command -v xxd >/dev/null 2>&1; then
  case "$target" in
    parse)
      for vector in "$here"/../../testdata/boot-image/*.vector; do
        sed '1,/^image:/d' "$vector" | xxd -r -p >"$corpus/seed-$(basename "$vector" .vector)"
      done
      ;;
    sealed_record)
      for vector in "$here"/../../testdata/sealed-record/*.txt; do
        sed '1,/^record:/d' "$vector" | xxd -r -p >"$corpus/seed-$(basename "$vector" .txt)"
      done
      ;;
  esac
else
  echo "xxd not found: starting without the test vectors as seeds" >&2
fi
# Seeds made by the firmware's recorder (see fuzz_targets/record_event.rs).
if [ -d "$here/seeds/$target" ]; then
  for seed in "$here/seeds/$target"/*; do
    [ -f "$seed" ] && cp "$seed" "$corpus/seed-$(basename "$seed")"
  done
fi
exec "$CARGO_TARGET_DIR/$host/release/$target" -max_total_time="$seconds" -max_len=65536 \
  -artifact_prefix="$here/artifacts/$target/" "$corpus"
