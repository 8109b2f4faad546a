#!/usr/bin/env bash
# Installs what building and testing Tally needs on a Debian machine.
#
#   scripts/install-deps.sh [go] [build] [gui-test] [postgres] [release]
#
# Groups:
#   go        Go on PATH or in /usr/local/go/bin (always checked)
#   build     gcc, pkg-config and the X11/OpenGL headers for the Fyne GL driver
#   gui-test  Xvfb, xdotool, ImageMagick and x11-utils for tests of a real window,
#             poppler-utils (pdftotext) for the tests of the printed form, and
#             Chromium (headless) for the tests of the results page
#   postgres  a PostgreSQL server answering on 127.0.0.1:5432 with a database "test"
#   release   what `make release` builds and checks with: mingw-w64 (the Windows
#             build), NSIS (its installer), osslsigncode and openssl (Authenticode),
#             xz, file, binutils, desktop-file-utils, and 64-bit Wine to run the
#             installer, the app and the uninstaller in the release check
#
# Idempotent: packages are installed only when missing, and `apt-get update`
# runs at most once, right before the first install. With everything present
# it only looks, and takes a fraction of a second. Runs as root (CI) or, for
# the steps that need it, through sudo.
set -euo pipefail

readonly PG_HOST=127.0.0.1
readonly PG_PORT=5432
readonly PG_DB=test
readonly PG_WAIT_SECONDS=30

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
	echo "usage: $0 [go] [build] [gui-test] [postgres] [release]" >&2
	exit 2
}

die() {
	echo "install-deps: $*" >&2
	exit 1
}

# as_root runs a command as root: directly when we are root, else through sudo.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

is_installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}

# installed_of PKG... prints those of the packages that are installed, one a
# line, asking dpkg once.
installed_of() {
	dpkg-query -W -f='${Package}\t${Status}\n' "$@" 2>/dev/null |
		awk -F'\t' '$2 == "install ok installed" { print $1 }' || true
}

apt_updated=0
apt_log=""

# apt_install installs the given Debian packages, quietly; the full apt output
# is printed only when it fails.
apt_install() {
	[[ -n $apt_log ]] || apt_log=$(mktemp -t install-deps.XXXXXX)
	if [[ $apt_updated -eq 0 ]]; then
		as_root apt-get update >>"$apt_log" 2>&1 || { cat "$apt_log" >&2; die "apt-get update failed"; }
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "$@" >>"$apt_log" 2>&1 ||
		{ cat "$apt_log" >&2; die "apt-get install $* failed"; }
}

# ensure_packages GROUP PKG... installs the missing packages and prints one
# line saying what was there and what was installed.
ensure_packages() {
	local group=$1
	shift
	local present=() missing=() p have
	have=$'\n'"$(installed_of "$@")"$'\n'
	for p in "$@"; do
		if [[ $have == *$'\n'"$p"$'\n'* ]]; then present+=("$p"); else missing+=("$p"); fi
	done
	if [[ ${#missing[@]} -gt 0 ]]; then
		apt_install "${missing[@]}"
	fi
	report "$group" "${present[*]:-}" "${missing[*]:-}"
}

# report GROUP PRESENT INSTALLED [DONE] prints the group's one line.
report() {
	local line="$1: already there: ${2:-nothing}"
	[[ -z $3 ]] || line+="; installed: $3"
	[[ -z ${4:-} ]] || line+="; $4"
	echo "$line"
}

# join prints its arguments separated by ", ".
join() {
	local out="" a
	for a in "$@"; do out+="${out:+, }$a"; done
	echo "$out"
}

# gomod_version prints the Go version that go.mod asks for (toolchain line
# first, else the go line).
gomod_version() {
	local v
	v=$(sed -n 's/^toolchain[[:space:]]\{1,\}go\([0-9.]*\).*/\1/p' go.mod 2>/dev/null | head -n1)
	[[ -n $v ]] || v=$(sed -n 's/^go[[:space:]]\{1,\}\([0-9.]*\).*/\1/p' go.mod 2>/dev/null | head -n1)
	echo "${v:-unknown}"
}

group_go() {
	# Same order as the Makefile's PATH: /usr/local/go/bin first.
	local go_bin="" installed=""
	if [[ -x /usr/local/go/bin/go ]]; then
		go_bin=/usr/local/go/bin/go
	else
		go_bin=$(command -v go 2>/dev/null || true)
	fi
	if [[ -z $go_bin ]]; then
		apt_install golang-go
		installed=golang-go
		go_bin=$(command -v go 2>/dev/null || echo /usr/bin/go)
	fi
	# The version of the binary itself, whatever go.mod asks for.
	local v
	v=$(cd / && GOTOOLCHAIN=local "$go_bin" env GOVERSION 2>/dev/null || true)
	v=${v#go}
	local major=${v%%.*} rest=${v#*.}
	local minor=${rest%%[!0-9]*}
	if [[ -z $v || ! $major =~ ^[0-9]+$ || ! $minor =~ ^[0-9]+$ ]]; then
		die "go: cannot tell the version of $go_bin"
	fi
	if ((major == 1 && minor < 21)); then
		die "go: $go_bin is go$v, too old to fetch the Go toolchain this module needs (go$(gomod_version), from go.mod); install Go $(gomod_version) or at least 1.21, so that GOTOOLCHAIN=auto can fetch it"
	fi
	if [[ -n $installed ]]; then
		echo "go: installed: golang-go (go$v at $go_bin; with GOTOOLCHAIN=auto it fetches go$(gomod_version) from go.mod)"
	else
		echo "go: already there: go$v at $go_bin"
	fi
}

group_build() {
	ensure_packages build gcc pkg-config libgl1-mesa-dev xorg-dev
}

group_gui_test() {
	ensure_packages gui-test xvfb xdotool imagemagick x11-utils poppler-utils chromium chromium-driver
}

group_release() {
	ensure_packages release gcc-mingw-w64-x86-64 nsis osslsigncode openssl xz-utils file binutils desktop-file-utils wine64
}

pg_ready() {
	pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
}

psql_admin() {
	psql -X -w -h "$PG_HOST" -p "$PG_PORT" -U postgres "$@"
}

group_postgres() {
	local present=() installed=() done_=()
	if is_installed postgresql; then present+=(postgresql); else
		apt_install postgresql
		installed+=(postgresql)
	fi

	if pg_ready; then
		present+=("server on $PG_HOST:$PG_PORT")
	else
		local version
		version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1 || true)
		if [[ -z $version ]]; then
			# Installed without a cluster (e.g. create_main_cluster=false).
			version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1 || true)
			[[ -n $version ]] || die "postgres: no PostgreSQL version under /usr/lib/postgresql"
			as_root pg_createcluster "$version" main >/dev/null
		fi
		as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
		local deadline=$((SECONDS + PG_WAIT_SECONDS))
		until pg_ready; do
			((SECONDS < deadline)) || die "postgres: no server on $PG_HOST:$PG_PORT after ${PG_WAIT_SECONDS}s"
			sleep 0.2
		done
		done_+=("started cluster $version/main")
	fi

	# The tests connect as postgres over TCP without a password. On a stock
	# Debian install loopback TCP asks for one: trust loopback instead (test
	# machines only).
	local has_db
	if ! has_db=$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" 2>/dev/null); then
		local hba
		hba=$(as_root runuser -u postgres -- psql -X -tAc 'SHOW hba_file' 2>/dev/null || true)
		[[ -n $hba ]] || die "postgres: cannot connect as postgres on $PG_HOST:$PG_PORT"
		as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
		as_root runuser -u postgres -- psql -X -qtAc 'SELECT pg_reload_conf()' >/dev/null
		has_db=$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'") ||
			die "postgres: still cannot connect as postgres on $PG_HOST:$PG_PORT"
		done_+=("trusted loopback in $hba")
	fi

	if [[ $has_db == 1 ]]; then
		present+=("database $PG_DB")
	else
		createdb -w -h "$PG_HOST" -p "$PG_PORT" -U postgres "$PG_DB"
		done_+=("created database $PG_DB")
	fi

	report postgres "$(join "${present[@]}")" "${installed[*]:-}" "$(join "${done_[@]}")"
}

[[ $# -gt 0 ]] || usage
for g in "$@"; do
	case $g in
	go | build | gui-test | postgres | release) ;;
	*) usage ;;
	esac
done

group_go
for g in "$@"; do
	case $g in
	go) ;; # checked above
	build) group_build ;;
	gui-test) group_gui_test ;;
	postgres) group_postgres ;;
	release) group_release ;;
	esac
done
[[ -z $apt_log ]] || rm -f "$apt_log"
