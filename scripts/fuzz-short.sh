#!/usr/bin/env bash
# Runs every fuzz target of the module for a short while, one after another,
# and stops at the first failure.
#
#   FUZZTIME=10s [FUZZMINIMIZETIME=20x] scripts/fuzz-short.sh
#
# Targets are the `func FuzzXxx(f *testing.F)` in the test files that the go
# command itself lists for each package (so build constraints, testdata/ and
# ignored directories are respected). A failing input is kept by go test in
# the package's testdata/fuzz/FuzzXxx/ and then runs with every `go test`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
# The engine shrinks every new interesting input, for up to a minute each by
# default; a target whose runs take milliseconds (a real database under each
# input) would spend its whole short run shrinking. A bounded number of
# tries keeps the short run fuzzing.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-20x}
root=$("$GO" list -m -f '{{.Dir}}')

# One line per package: its directory, then its test files.
listing=$("$GO" list -f '{{.Dir}}{{range .TestGoFiles}} {{.}}{{end}}{{range .XTestGoFiles}} {{.}}{{end}}' ./...)

targets=() # "./pkg FuzzName"
while read -r dir files; do
	[[ -n $files ]] || continue
	if [[ $dir == "$root" ]]; then pkg=.; else pkg=./${dir#"$root"/}; fi
	for f in $files; do
		while read -r name; do
			targets+=("$pkg $name")
		done < <(sed -n 's/^func[[:space:]]\{1,\}\(Fuzz\([A-Z0-9_][[:alnum:]_]*\)\{0,1\}\)[[:space:]]*(.*\*testing\.F).*/\1/p' "$dir/$f")
	done
done <<<"$listing"

if [[ ${#targets[@]} -eq 0 ]]; then
	echo "fuzz-short: no fuzz targets in the module"
	exit 0
fi

echo "fuzz-short: ${#targets[@]} fuzz target(s), ${FUZZTIME} each"
for t in "${targets[@]}"; do
	pkg=${t% *}
	name=${t#* }
	echo "fuzz-short: $name in $pkg"
	log=$(mktemp)
	ok=0
	for attempt in 1 2; do
		if "$GO" test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" -fuzzminimizetime="$FUZZMINIMIZETIME" "$pkg" 2>&1 | tee "$log"; then
			ok=1
			break
		fi
		# The fuzzing engine can end a time-bounded run with "context
		# deadline exceeded" on a loaded machine without having found
		# anything (golang/go#75804). Only that is tried once more.
		if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			break
		fi
		echo "fuzz-short: $name ended on the fuzzing engine's deadline without a failing input; once more"
	done
	rm -f "$log"
	if [[ $ok != 1 ]]; then
		echo "fuzz-short: FAIL $name in $pkg (failing input, if any, is in $pkg/testdata/fuzz/$name/)" >&2
		exit 1
	fi
done
echo "fuzz-short: all ${#targets[@]} fuzz target(s) passed"
