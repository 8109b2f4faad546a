#!/usr/bin/env bash
# Builds a release of Tally into a new directory, from a Linux machine:
#
#   scripts/release/build.sh OUT
#
# OUT receives (VERSION from FyneApp.toml):
#   tally-VERSION-windows-amd64-setup.exe  the Windows installer (NSIS)
#   tally-VERSION-windows-amd64.exe        the app itself, as installed
#   tally_VERSION_amd64.deb                the app for Debian and Ubuntu
#   tally-VERSION-linux-amd64.tar.xz       the app for other Linux systems
#   tallyd_VERSION_{amd64,arm64}.deb       the server, with its systemd unit
#   tallyd-VERSION-linux-{amd64,arm64}     the server, a static binary
#   SHA256SUMS, release.dsse.json, release.pub
#                                          the checksums, the manifest signed
#                                          with the release key, its public key
#
# Environment:
#   RELEASE_KEY        the release private key file (mkrelease key); required
#   SIGN_CERT, SIGN_KEY  the Authenticode certificate (PEM, with its chain)
#                      and private key (PEM); or SIGN_PKCS12, a .pfx file.
#                      SIGN_PASS_FILE holds the key's password, if any.
#                      Without them the Windows files are not Authenticode-signed.
#   SIGN_TIMESTAMP_URL an RFC 3161 time-stamping server, so that signatures
#                      outlive the certificate (needs the network)
#   MAINTAINER         the Maintainer of the .deb packages
#   SOURCE_DATE_EPOCH  the time stamped into everything; default: the last
#                      commit's time
#   GO                 the go command (default: go)
#
# Reproducible: the build copies the working tree (tracked and untracked
# files, not ignored ones) into a temporary directory and builds there with
# -trimpath, no build id, no VCS stamp and every timestamp set to
# SOURCE_DATE_EPOCH, so the same tree gives the same bytes wherever it is.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
here=$root/scripts/release
GO=${GO:-go}

die() {
	echo "release: $*" >&2
	exit 1
}

# say prints a step with the seconds since the start.
say() { echo "release: $* (${SECONDS}s)"; }

usage() {
	echo "usage: $0 OUT" >&2
	exit 2
}

[[ $# -eq 1 && -n $1 ]] || usage
out=$1

# --- what is needed --------------------------------------------------------

need=(git tar xz dpkg-deb gcc x86_64-w64-mingw32-gcc x86_64-w64-mingw32-windres makensis)
[[ -n ${RELEASE_KEY:-} ]] || die "RELEASE_KEY is not set: give the release private key file (make one with: go run ./scripts/release/mkrelease key --out FILE)"
[[ -f $RELEASE_KEY ]] || die "RELEASE_KEY: $RELEASE_KEY is not a file"
if [[ -n ${SIGN_CERT:-}${SIGN_KEY:-}${SIGN_PKCS12:-} ]]; then
	need+=(osslsigncode)
	if [[ -n ${SIGN_PKCS12:-} ]]; then
		[[ -f $SIGN_PKCS12 ]] || die "SIGN_PKCS12: $SIGN_PKCS12 is not a file"
		[[ -z ${SIGN_CERT:-}${SIGN_KEY:-} ]] || die "give SIGN_PKCS12, or SIGN_CERT and SIGN_KEY, not both"
	else
		[[ -f ${SIGN_CERT:-} ]] || die "SIGN_CERT: '${SIGN_CERT:-}' is not a file (the Authenticode certificate, PEM)"
		[[ -f ${SIGN_KEY:-} ]] || die "SIGN_KEY: '${SIGN_KEY:-}' is not a file (the Authenticode private key, PEM)"
	fi
fi
missing=()
for t in "${need[@]}"; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
command -v "$GO" >/dev/null 2>&1 || missing+=("$GO")
[[ ${#missing[@]} -eq 0 ]] || die "missing: ${missing[*]} (make deps installs them)"

if [[ -e $out ]] && [[ -n $(ls -A "$out") ]]; then
	die "$out exists and is not empty"
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)

# --- the version and the source -------------------------------------------

toml() { sed -n "s/^$1 *= *\"\{0,1\}\([^\"]*\)\"\{0,1\} *\$/\1/p" FyneApp.toml; }
version=$(toml Version)
build=$(toml Build)
app_id=$(toml ID)
app_name=$(toml Name)
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "FyneApp.toml: Version \"$version\" is not MAJOR.MINOR.PATCH"
[[ $build =~ ^[0-9]+$ ]] || die "FyneApp.toml: Build \"$build\" is not a number"
[[ -n $app_id && -n $app_name ]] || die "FyneApp.toml: ID or Name is missing"

commit=$(git rev-parse HEAD 2>/dev/null) || die "not a git work tree: the release is built from a commit"
modified=()
if [[ -n $(git status --porcelain 2>/dev/null) ]]; then
	modified=(--modified)
	echo "release: the work tree has changes not committed; the manifest says so" >&2
fi
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
[[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH \"$SOURCE_DATE_EPOCH\" is not a number"
maintainer=${MAINTAINER:-The election commission <it@commission.invalid>}

export TZ=UTC LC_ALL=C
umask 022

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
src=$work/src
bin=$work/bin
pkg=$work/pkg
mkdir -p "$src" "$bin" "$pkg"

# The tree as it is, without what git ignores (bin/, dist/, …).
git ls-files -z --cached --others --exclude-standard --deduplicate |
	while IFS= read -r -d '' f; do
		if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi
	done |
	tar --null -T - -cf - | tar -xf - -C "$src"

# --- the binaries ----------------------------------------------------------

# Nothing from the caller's Go settings but the caches: the defaults, said
# out loud.
export GOFLAGS= GOAMD64=v1 GOARM64=v8.0 CGO_CPPFLAGS= CGO_CFLAGS="-O2 -g" CGO_CXXFLAGS="-O2 -g" CGO_LDFLAGS="-O2 -g"
ldflags="-s -w -buildid= -X main.version=$version"

gobuild() { # GOOS GOARCH CGO OUT PKG [LDFLAGS...]
	local goos=$1 goarch=$2 cgo=$3 outfile=$4 pkgpath=$5
	shift 5
	say "go build $pkgpath for $goos/$goarch"
	(cd "$src" && GOOS=$goos GOARCH=$goarch CGO_ENABLED=$cgo "$GO" build \
		-trimpath -buildvcs=false -ldflags "$ldflags $*" -o "$outfile" "$pkgpath")
}

(cd "$src" && CGO_ENABLED=0 GOOS= GOARCH= "$GO" build -trimpath -o "$work/mkrelease" ./scripts/release/mkrelease)

for arch in amd64 arm64; do
	gobuild linux "$arch" 0 "$bin/tallyd-linux-$arch" ./cmd/tallyd
done

# The app's name, version and icon, as `fyne package` bundles them.
cp Icon.png "$src/cmd/tally/Icon.png"
sed -e "s|@ID@|$app_id|" -e "s|@NAME@|$app_name|" -e "s|@VERSION@|$version|" -e "s|@BUILD@|$build|" \
	"$here/fyne_metadata.go.in" >"$src/cmd/tally/zz_release_metadata.go"

GOFLAGS=-buildmode=pie gobuild linux amd64 1 "$bin/tally-linux-amd64" ./cmd/tally

# The icon, the version and the manifest of tally.exe, as a resource object
# that go build links into the Windows build.
"$work/mkrelease" icon --in Icon.png --out "$work/tally.ico"
cp "$here/windows/tally.exe.manifest" "$work/"
sed -e "s|@VERSION@|$version|g" -e "s|@VERSION_COMMAS@|${version//./,},$build|g" -e "s|@ICON@|tally.ico|g" \
	"$here/windows/tally.rc.in" >"$work/tally.rc"
(cd "$work" && x86_64-w64-mingw32-windres -O coff -o "$src/cmd/tally/rsrc_windows_amd64.syso" tally.rc)
CC=x86_64-w64-mingw32-gcc gobuild windows amd64 1 "$bin/tally-windows-amd64.exe" ./cmd/tally \
	-H=windowsgui "'-extldflags=-Wl,--no-insert-timestamp'"

# --- Authenticode ----------------------------------------------------------

authenticode() { # IN OUT
	if [[ -z ${SIGN_CERT:-}${SIGN_PKCS12:-} ]]; then
		cp "$1" "$2"
		return
	fi
	local args=(sign -h sha256 -n "Tally $version" -time "$SOURCE_DATE_EPOCH")
	if [[ -n ${SIGN_PKCS12:-} ]]; then args+=(-pkcs12 "$SIGN_PKCS12"); else args+=(-certs "$SIGN_CERT" -key "$SIGN_KEY"); fi
	[[ -z ${SIGN_PASS_FILE:-} ]] || args+=(-readpass "$SIGN_PASS_FILE")
	[[ -z ${SIGN_TIMESTAMP_URL:-} ]] || args+=(-ts "$SIGN_TIMESTAMP_URL")
	say "authenticode $(basename "$2")"
	osslsigncode "${args[@]}" -in "$1" -out "$2" >/dev/null
}

# --- packages --------------------------------------------------------------

# settle gives a staged tree the same modes and times on every build.
settle() {
	find "$1" -type d -exec chmod 0755 {} +
	find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# installed_size is the Installed-Size of a staged .deb tree, in KiB, from
# the files' sizes alone (du would give the file system's blocks).
installed_size() {
	find "$1" -path "$1/DEBIAN" -prune -o -type f -printf '%s\n' |
		awk '{ s += int(($1 + 1023) / 1024) } END { print s + 0 }'
}

# control TEMPLATE TREE ARCH [DEPENDS] writes TREE/DEBIAN/control.
control() {
	mkdir -p "$2/DEBIAN"
	sed -e "s|@DEBVERSION@|$version|" -e "s|@ARCH@|$3|" -e "s|@SIZE@|$(installed_size "$2")|" \
		-e "s|@MAINTAINER@|$maintainer|" -e "s|@DEPENDS@|${4:-}|" "$1" >"$2/DEBIAN/control"
}

deb() { # TREE OUT
	settle "$1"
	dpkg-deb --root-owner-group -Zxz --build "$1" "$2" >/dev/null
}

# The libraries the app links (objdump -p: NEEDED) and their packages; the
# release check compares this with the binary.
tally_depends="libc6 (>= 2.34), libgl1, libx11-6, libxcursor1, libxi6, libxinerama1, libxrandr2, libxxf86vm1"

# The app for Debian.
pack_tally_deb() {
	local t=$pkg/tally-deb
	install -D -m 0755 "$bin/tally-linux-amd64" "$t/usr/bin/tally"
	install -D -m 0644 "$here/linux/org.tally.app.desktop" "$t/usr/share/applications/$app_id.desktop"
	install -D -m 0644 Icon.png "$t/usr/share/icons/hicolor/512x512/apps/$app_id.png"
	control "$here/deb/tally.control.in" "$t" amd64 "$tally_depends"
	deb "$t" "$out/tally_${version}_amd64.deb"
}

# The app for other Linux systems: a directory with a Makefile that
# installs it.
tarname=tally-$version-linux-amd64
pack_tally_tar() {
	local t=$pkg/tar/$tarname
	install -D -m 0755 "$bin/tally-linux-amd64" "$t/bin/tally"
	install -D -m 0644 "$here/linux/org.tally.app.desktop" "$t/share/applications/$app_id.desktop"
	install -D -m 0644 Icon.png "$t/share/icons/hicolor/512x512/apps/$app_id.png"
	install -D -m 0644 "$here/linux/tarball.mk" "$t/Makefile"
	settle "$pkg/tar"
	tar --sort=name --format=gnu --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-C "$pkg/tar" -cf - "$tarname" | xz -6 -T1 -c >"$out/$tarname.tar.xz"
}

# The server, for one architecture: the package and the binary alone.
pack_tallyd() { # ARCH
	local arch=$1 t=$pkg/tallyd-$1 s
	install -D -m 0755 "$bin/tallyd-linux-$arch" "$t/usr/bin/tallyd"
	install -D -m 0644 "$here/deb/tallyd.service" "$t/usr/lib/systemd/system/tallyd.service"
	install -D -m 0644 "$here/deb/tallyd.sysusers" "$t/usr/lib/sysusers.d/tallyd.conf"
	install -D -m 0640 "$here/deb/tallyd.conf" "$t/etc/tally/tallyd.conf"
	install -D -m 0644 docs/install.md "$t/usr/share/doc/tallyd/install.md"
	control "$here/deb/tallyd.control.in" "$t" "$arch"
	echo /etc/tally/tallyd.conf >"$t/DEBIAN/conffiles"
	for s in postinst prerm postrm; do
		install -m 0755 "$here/deb/tallyd.$s" "$t/DEBIAN/$s"
	done
	deb "$t" "$out/tallyd_${version}_$arch.deb"
	install -m 0755 "$bin/tallyd-linux-$arch" "$out/tallyd-$version-linux-$arch"
	touch -d "@$SOURCE_DATE_EPOCH" "$out/tallyd-$version-linux-$arch"
}

# The app for Windows: tally.exe signed, then the installer around it,
# signed too.
exe=tally-$version-windows-amd64.exe
setup=tally-$version-windows-amd64-setup.exe
pack_windows() {
	mkdir -p "$pkg/win"
	authenticode "$bin/tally-windows-amd64.exe" "$pkg/win/tally.exe"
	touch -d "@$SOURCE_DATE_EPOCH" "$pkg/win/tally.exe"
	cp -p "$pkg/win/tally.exe" "$out/$exe"
	makensis -V2 -INPUTCHARSET UTF8 \
		-DVERSION="$version" -DVIVERSION="$version.$build" \
		-DEXE="$pkg/win/tally.exe" -DICON="$work/tally.ico" -DOUTFILE="$pkg/$setup" \
		"$here/windows/tally.nsi" >"$work/makensis.log" || {
		cat "$work/makensis.log" >&2
		return 1
	}
	authenticode "$pkg/$setup" "$out/$setup"
	touch -d "@$SOURCE_DATE_EPOCH" "$out/$setup"
}

# Compressing the packages takes most of a build whose binaries are in the
# Go cache: the packages are made side by side, each job on its own files.
jobs=(pack_tally_deb pack_tally_tar "pack_tallyd amd64" "pack_tallyd arm64" pack_windows)
say "packages: ${jobs[*]}"
pids=()
for j in "${jobs[@]}"; do
	$j >"$work/${j// /-}.log" 2>&1 &
	pids+=($!)
done
failed=()
for i in "${!jobs[@]}"; do
	wait "${pids[$i]}" || failed+=("${jobs[$i]}")
done
for j in "${failed[@]}"; do
	cat "$work/${j// /-}.log" >&2
done
[[ ${#failed[@]} -eq 0 ]] || die "packaging failed: ${failed[*]}"

# --- the signed manifest ---------------------------------------------------

say "the manifest"
"$work/mkrelease" manifest --dir "$out" --key "$RELEASE_KEY" \
	--product tally --version "$version" --commit "$commit" "${modified[@]}" \
	--epoch "$SOURCE_DATE_EPOCH" --toolchain "$(cd "$src" && "$GO" env GOVERSION)" \
	--installs "tally_${version}_amd64.deb=$pkg/tally-deb" \
	--installs "$tarname.tar.xz=$pkg/tar" \
	--installs "tallyd_${version}_amd64.deb=$pkg/tallyd-amd64" \
	--installs "tallyd_${version}_arm64.deb=$pkg/tallyd-arm64" \
	--installs "$setup=$pkg/win"
say "$version ($commit) in $out"
