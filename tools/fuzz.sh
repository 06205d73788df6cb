#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for a bounded time, one after the other, on a copy of
# its seed corpus (the committed seeds stay as they are). A crash stops the run with the
# target's name, the input saved under fuzz/artifacts/TARGET/ and the command that
# replays it. See docs/RELIABILITY.md, "Fuzzing".
#
#   bash tools/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 30: the short run, about 4 minutes for all seven);
# TARGET names run only those. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`);
# the stable compiler takes its nightly flags through RUSTC_BOOTSTRAP=1. FUZZ_SANITIZER
# (default address) may be `none` where the AddressSanitizer runtime is missing; debug
# assertions (overflow checks) are on either way.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(occ money cells callback command generic_rows brokers)
fi
sanitizer="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed; install it with: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

cargo fuzz build -s "$sanitizer" --codegen-units 16

mkdir -p fuzz/corpus-run
for target in "${targets[@]}"; do
    run="fuzz/corpus-run/$target"
    mkdir -p "$run"
    cp -n fuzz/corpus/"$target"/* "$run"/ 2>/dev/null || true
    echo "== $target: $seconds s"
    log="fuzz/corpus-run/$target.log"
    if ! cargo fuzz run -s "$sanitizer" --codegen-units 16 "$target" "$run" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"$log" 2>&1; then
        # The panic or the sanitizer's report, not the input's bytes (they are in the file).
        grep -m 3 -A 3 -E "panicked|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" >&2 || tail -n 20 "$log" >&2
        echo "error: fuzz target $target failed; the input is under fuzz/artifacts/$target/ (replay: RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer $target fuzz/artifacts/$target/<file>)" >&2
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    echo "   $runs executions, no crash"
done
echo "fuzzing: every target ran $seconds s without a crash"
