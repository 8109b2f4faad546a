#!/usr/bin/env bash
# The demo: a local tallyd with the demo election (a municipal election at
# Kosovo's scale), a polling station provisioned and enrolled, its mayoral
# form typed twice, sealed and delivered with the headless commands; then
# the desktop app opens on that station, its assembly form waiting to be
# typed. Closing the app (or Ctrl-C) stops tallyd. Without a display, tallyd
# keeps running and the script says how to open the app under Xvfb.
#
#   scripts/demo.sh [BIN_DIR] [DATA_DIR]
set -euo pipefail

bin=${1:-bin}
dir=${2:-demo-data}
addr=127.0.0.1:8480
pin=demo-pin-2026

tallyd=$bin/tallyd
tally=$bin/tally
say() { printf '\n== %s\n' "$*"; }

say "the demo election"
"$tallyd" election demo --out "$dir" --kind municipal --seed 2026 --force --server "http://$addr"
fingerprint=$("$tally" election inspect "$dir/election.json" --json | sed -n 's/.*"fingerprint": "\([^"]*\)".*/\1/p')
rm -f "$dir"/tallyd.db* "$dir"/station.db* "$dir"/serve.out "$dir"/tallyd.log
"$tallyd" election import --db "$dir/tallyd.db" --definition "$dir/election.json" \
	--fingerprint "$fingerprint" --codes "$dir/enrollment-codes.csv"

say "tallyd on $addr"
"$tallyd" serve --db "$dir/tallyd.db" --keys "$dir/keys" --listen "$addr" >"$dir/serve.out" 2>"$dir/tallyd.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
	grep -q listening "$dir/serve.out" 2>/dev/null && break
	kill -0 "$server" 2>/dev/null || { cat "$dir/tallyd.log" >&2; exit 1; }
	sleep 0.1
done
cat "$dir/serve.out"

# role,unit,municipality,name,code: the name may hold commas, the rest not.
line=$(awk '/^station,/ { print; exit }' "$dir/enrollment-codes.csv")
station=$(cut -d, -f2 <<<"$line")
municipality=$(cut -d, -f3 <<<"$line")
code=${line##*,}
db=(--db "$dir/station.db")
umask 077
printf '%s\n' "$pin" >"$dir/pin.txt"

say "station $station: provision and enroll"
"$tally" station init "${db[@]}" --definition "$dir/election.json" --fingerprint "$fingerprint" \
	--station "$station" --by "Arta Krasniqi" --pin-file "$dir/pin.txt"
"$tally" station enroll "${db[@]}" --code "$code" --pin-file "$dir/pin.txt"

contest=MAY-$municipality
say "$contest: two entries, blind, then the seal"
"$tally" station enter "${db[@]}" --contest "$contest" --file "$dir/sample-counts-1.json" \
	--as first --by "Arta Krasniqi" --photo "$dir/sample-paper-form.png" >/dev/null
"$tally" station enter "${db[@]}" --contest "$contest" --file "$dir/sample-counts-1.json" \
	--as second --by "Besnik Gashi" >/dev/null
"$tally" station seal "${db[@]}" --contest "$contest" --pin-file "$dir/pin.txt"

say "sync: the outbox to the commission"
"$tally" sync "${db[@]}" --pin-file "$dir/pin.txt"
say "the station now"
"$tally" station status "${db[@]}"

say "the preliminary results: http://$addr/results/ (a snapshot within seconds of each receipt)"

if [[ -n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-} ]]; then
	say "the station's app: the form MUN-$municipality waits to be typed (PIN: $pin)"
	"$tally" app --data "$dir"
	exit 0
fi

cat <<EOT

There is no display here, so the desktop app cannot open. To see it:
  Xvfb :99 -screen 0 1280x1024x24 &     (Debian: apt-get install xvfb)
  DISPLAY=:99 $tally app --data $dir
and look at it with a VNC server on :99 (x11vnc -display :99), or take a
screenshot: DISPLAY=:99 import -window root shot.png. Or run the whole
demo under Xvfb: xvfb-run -a -s "-screen 0 1280x1024x24" make demo.

tallyd is running on http://$addr with the demo election; the station's
database is $dir/station.db (PIN: $pin, also in $dir/pin.txt). Try:
  $tally station status --db $dir/station.db
  curl -s http://$addr/v1/keys | head -c 300
  open http://$addr/results/ in a browser: the preliminary results
  $tallyd publish --db $dir/tallyd.db --keys $dir/keys --out $dir/public
  $tallyd audit verify --db $dir/tallyd.db      (in another terminal)
Ctrl-C stops tallyd.
EOT
wait "$server"
