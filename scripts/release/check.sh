#!/usr/bin/env bash
# The release check: builds the whole release with a throwaway release key
# and a throwaway self-signed Authenticode certificate into a temporary
# directory, then checks what came out:
#
#   - `tally verify-release`, run with the release's own Linux build of tally,
#     accepts it (with --key, and with --fingerprint), finds the installed
#     binaries among the release's files, and names exactly the file that
#     was tampered with (a byte changed, a file added, SHA256SUMS edited);
#   - the Windows executable and installer are PE32+ GUI programs whose
#     Authenticode signatures osslsigncode verifies; under Wine the installer
#     installs silently (program, Start-menu entry, uninstall entry) and the
#     uninstaller removes all of it but the station's data; its script has a
#     silent default for every question and deletes nothing else;
#   - the .deb packages hold what they should (paths, modes, conffiles, the
#     systemd unit's sandboxing), the binaries print the version, tallyd is
#     static, and the app's Depends cover every library it links;
#   - a second build, from a copy of the tree at another path, gives the
#     same bytes for every file of the release.
#
#   scripts/release/check.sh [KEEP_DIR]
#
# With KEEP_DIR the two builds are left there; else in a temporary
# directory removed at the end.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
GO=${GO:-go}
export GO

fail=0
started=$SECONDS
step() { echo "release-check: $* ($((SECONDS - started))s)"; }
bad() {
	echo "release-check: FAILED: $*" >&2
	fail=1
}

if [[ $# -gt 0 ]]; then
	tmp=$1
	mkdir -p "$tmp"
	[[ -z $(ls -A "$tmp") ]] || { echo "release-check: $tmp is not empty" >&2; exit 2; }
	tmp=$(cd "$tmp" && pwd)
else
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/tally-release-check.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
fi

version=$(sed -n 's/^Version *= *"\(.*\)"/\1/p' FyneApp.toml)

# --- throwaway keys --------------------------------------------------------

"$GO" build -o "$tmp/mkrelease" ./scripts/release/mkrelease
"$tmp/mkrelease" key --out "$tmp/release.key" >/dev/null
"$tmp/mkrelease" key --out "$tmp/other.key" >/dev/null
openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 2 \
	-subj "/CN=Tally release check/O=Throwaway" \
	-addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
	-keyout "$tmp/sign.key" -out "$tmp/sign.crt" 2>/dev/null
export RELEASE_KEY=$tmp/release.key SIGN_CERT=$tmp/sign.crt SIGN_KEY=$tmp/sign.key

# --- the release, twice ----------------------------------------------------

step "building the release"
scripts/release/build.sh "$tmp/first" >"$tmp/first.log" 2>&1 || {
	cat "$tmp/first.log" >&2
	echo "release-check: FAILED: the release build" >&2
	exit 1
}
step "building it again, from another copy of the tree"
scripts/release/build.sh "$tmp/second" >"$tmp/second.log" 2>&1 || {
	cat "$tmp/second.log" >&2
	echo "release-check: FAILED: the second release build" >&2
	exit 1
}
rel=$tmp/first
step "comparing the two builds"
for f in "$rel"/*; do
	name=$(basename "$f")
	if [[ ! -f $tmp/second/$name ]]; then
		bad "reproducible: $name is missing from the second build"
	elif ! cmp -s "$f" "$tmp/second/$name"; then
		bad "reproducible: $name differs between two builds of the same tree"
	fi
done
[[ $(ls "$rel") == "$(ls "$tmp/second")" ]] || bad "reproducible: the two builds have different files"

expected=(
	SHA256SUMS release.dsse.json release.pub
	"tally-$version-linux-amd64.tar.xz"
	"tally-$version-windows-amd64-setup.exe"
	"tally-$version-windows-amd64.exe"
	"tally_${version}_amd64.deb"
	"tallyd-$version-linux-amd64"
	"tallyd-$version-linux-arm64"
	"tallyd_${version}_amd64.deb"
	"tallyd_${version}_arm64.deb"
)
[[ $(ls "$rel") == "$(printf '%s\n' "${expected[@]}" | LC_ALL=C sort)" ]] ||
	bad "the release holds: $(ls "$rel" | tr '\n' ' '), want: ${expected[*]}"

# --- the packages ----------------------------------------------------------

step "checking the packages"
x=$tmp/extracted
for d in tally_"${version}"_amd64 tallyd_"${version}"_amd64 tallyd_"${version}"_arm64; do
	mkdir -p "$x/$d"
	dpkg-deb -x "$rel/$d.deb" "$x/$d"
	dpkg-deb -e "$rel/$d.deb" "$x/$d/DEBIAN"
	dpkg-deb -c "$rel/$d.deb" | awk '{ print $1, $2, $6 }' >"$x/$d.contents"
	grep -v -q -E -e '^[-dl][rwx-]{9} root/root ' "$x/$d.contents" && bad "$d.deb: a file not owned by root/root"
	[[ $(sed -n 's/^Version: //p' "$x/$d/DEBIAN/control") == "$version" ]] || bad "$d.deb: Version is not $version"
done
has() { # DEB MODE PATH
	grep -q -x -F -e "$2 root/root ./$3" "$x/$1.contents" || bad "$1.deb: no ./$3 with mode $2"
}
has tally_"${version}"_amd64 -rwxr-xr-x usr/bin/tally
has tally_"${version}"_amd64 -rw-r--r-- usr/share/applications/org.tally.app.desktop
has tally_"${version}"_amd64 -rw-r--r-- usr/share/icons/hicolor/512x512/apps/org.tally.app.png
for arch in amd64 arm64; do
	d=tallyd_${version}_$arch
	has "$d" -rwxr-xr-x usr/bin/tallyd
	has "$d" -rw-r--r-- usr/lib/systemd/system/tallyd.service
	has "$d" -rw-r--r-- usr/lib/sysusers.d/tallyd.conf
	has "$d" -rw-r----- etc/tally/tallyd.conf
	[[ $(cat "$x/$d/DEBIAN/conffiles") == /etc/tally/tallyd.conf ]] || bad "$d.deb: conffiles is not /etc/tally/tallyd.conf"
	[[ $(sed -n 's/^Architecture: //p' "$x/$d/DEBIAN/control") == "$arch" ]] || bad "$d.deb: Architecture is not $arch"
	sh -n "$x/$d/DEBIAN/postinst" || bad "$d.deb: postinst is not valid sh"
	cmp -s "$x/$d/usr/bin/tallyd" "$rel/tallyd-$version-linux-$arch" || bad "$d.deb: usr/bin/tallyd differs from tallyd-$version-linux-$arch"
done
file -b "$rel/tallyd-$version-linux-amd64" | grep -q 'x86-64.*statically linked' || bad "tallyd for amd64 is not a static x86-64 binary: $(file -b "$rel/tallyd-$version-linux-amd64")"
file -b "$rel/tallyd-$version-linux-arm64" | grep -q 'ARM aarch64.*statically linked' || bad "tallyd for arm64 is not a static aarch64 binary: $(file -b "$rel/tallyd-$version-linux-arm64")"

# The unit runs tallyd as its own user, sandboxed.
unit=$x/tallyd_${version}_amd64/usr/lib/systemd/system/tallyd.service
for want in User=tallyd StateDirectory=tallyd ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	NoNewPrivileges=yes 'ExecStart=/usr/bin/tallyd serve $TALLYD_OPTS' EnvironmentFile=/etc/tally/tallyd.conf; do
	grep -q -x -F "$want" "$unit" || bad "tallyd.service: no $want"
done
if command -v systemd-analyze >/dev/null 2>&1; then
	# --offline: judge the unit file alone, on a machine where it is not installed.
	exposure=$(systemd-analyze security --offline=yes --no-pager "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
	if [[ -z $exposure ]]; then
		bad "systemd-analyze security could not judge tallyd.service"
	elif awk -v e="$exposure" 'BEGIN { exit !(e > 2.0) }'; then
		bad "tallyd.service: systemd-analyze security exposure $exposure, want at most 2.0"
	fi
fi

# The app's Depends name the package of every library it links.
app=$x/tally_${version}_amd64/usr/bin/tally
depends=$(sed -n 's/^Depends: //p' "$x/tally_${version}_amd64/DEBIAN/control")
while read -r lib; do
	path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
	[[ -n $path ]] || { bad "tally links $lib, which this machine lacks"; continue; }
	owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n1 | cut -d: -f1) ||
		owner=$(dpkg -S "$path" 2>/dev/null | head -n1 | cut -d: -f1) || true
	[[ -n $owner ]] || { bad "no package owns $path ($lib)"; continue; }
	[[ ", $depends," == *", $owner"[,\ ]* ]] || bad "tally links $lib from $owner, which Depends ($depends) does not name"
done < <(objdump -p "$app" | awk '$1 == "NEEDED" { print $2 }')

# The version, from one place.
[[ $("$app" --version) == "tally $version" ]] || bad "tally --version says '$("$app" --version)', want 'tally $version'"
tallyd=$x/tallyd_${version}_amd64/usr/bin/tallyd
[[ $("$tallyd" --version) == "tallyd $version" ]] || bad "tallyd --version says '$("$tallyd" --version)', want 'tallyd $version'"
# The Windows file's properties (VERSIONINFO, UTF-16) and its icon.
strings -el "$rel/tally-$version-windows-amd64.exe" | grep -q -x -F "$version" || bad "tally.exe's version resource does not say $version"
x86_64-w64-mingw32-objdump -h "$rel/tally-$version-windows-amd64.exe" | grep -q ' \.rsrc ' || bad "tally.exe has no resources (icon, version)"

# The archive for other Linux systems installs where it should.
mkdir -p "$x/tar" "$x/tar-root"
tar -xJf "$rel/tally-$version-linux-amd64.tar.xz" -C "$x/tar"
make -s -C "$x/tar/tally-$version-linux-amd64" install DESTDIR="$x/tar-root" PREFIX=/usr/local
cmp -s "$x/tar-root/usr/local/bin/tally" "$app" || bad "the .tar.xz installs another tally than the .deb"
grep -q -x 'Exec=/usr/local/bin/tally app' "$x/tar-root/usr/local/share/applications/org.tally.app.desktop" ||
	bad "the .tar.xz's desktop entry does not run /usr/local/bin/tally"
if command -v desktop-file-validate >/dev/null 2>&1; then
	desktop-file-validate "$x/tally_${version}_amd64/usr/share/applications/org.tally.app.desktop" || bad "the desktop entry is not valid"
fi

# --- Windows ---------------------------------------------------------------

step "checking the Windows files"
exe=$rel/tally-$version-windows-amd64.exe
setup=$rel/tally-$version-windows-amd64-setup.exe
file -b "$exe" | grep -q '^PE32+ executable (GUI) x86-64' || bad "tally.exe: $(file -b "$exe"), want a PE32+ GUI x86-64 executable"
file -b "$setup" | grep -q '^PE32+ executable (GUI) x86-64' || bad "the installer: $(file -b "$setup"), want a PE32+ GUI x86-64 executable"
grep -a -q NullsoftInst "$setup" || bad "the installer has no NSIS data"
for f in "$exe" "$setup"; do
	osslsigncode verify -CAfile "$SIGN_CERT" -time "$(date +%s)" -in "$f" >"$tmp/verify.log" 2>&1 ||
		{ cat "$tmp/verify.log" >&2; bad "osslsigncode does not verify $(basename "$f")"; }
done
# The rules of the installer's script (the installer itself runs on Windows).
nsi=scripts/release/windows/tally.nsi
grep -n 'MessageBox' "$nsi" | grep -v '^[0-9]*: *;' | grep -v '/SD ' &&
	bad "$nsi: a MessageBox without /SD would stop a silent install"
grep -q -x 'RequestExecutionLevel admin' "$nsi" || bad "$nsi: does not install per machine (RequestExecutionLevel admin)"
grep -q 'SetShellVarContext all' "$nsi" || bad "$nsi: Start-menu entry not for all users (SetShellVarContext all)"
grep -q 'CreateShortcut "$SMPROGRAMS\\Tally.lnk"' "$nsi" || bad "$nsi: no Start-menu entry"
uninstall=$(sed -n '/^Section "Uninstall"/,/^SectionEnd/p' "$nsi" | grep -v '^ *;')
grep -q -i 'RMDir */r' "$nsi" && bad "$nsi: RMDir /r deletes whatever a folder holds"
grep -E -i '^ *(Delete|RMDir) ' <<<"$uninstall" | grep -v -E '"\$(INSTDIR|SMPROGRAMS)\\?[^"]*"$' &&
	bad "$nsi: the uninstaller deletes outside \$INSTDIR and the Start menu"
grep -q -i 'APPDATA\|LOCALAPPDATA\|PROFILE' <<<"$uninstall" && bad "$nsi: the uninstaller names the users' data"

# --- the installer on Windows, as far as Wine goes -------------------------

wine=/usr/lib/wine/wine64
if [[ -x $wine ]]; then
	# Wine runs the installer and the uninstaller; not tally.exe itself, which
	# needs Windows 10's bcryptprimitives.dll (Debian 12's Wine 8 has none).
	step "installing and uninstalling under Wine"
	(
		export WINEPREFIX=$tmp/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
		unset DISPLAY
		wait_wine() { /usr/lib/wine/wineserver -w; }
		c=$WINEPREFIX/drive_c
		"$wine" wineboot --init >/dev/null 2>&1
		wait_wine
		"$wine" "$setup" /S || bad "the silent install failed (exit status $?)"
		wait_wine
		cmp -s "$c/Program Files/Tally/tally.exe" "$exe" || bad "the silent install did not put tally.exe in Program Files\\Tally"
		[[ -f "$c/ProgramData/Microsoft/Windows/Start Menu/Programs/Tally.lnk" ]] || bad "the silent install made no Start-menu entry for all users"
		"$wine" reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Tally' 2>/dev/null | tr -d '\r' >"$tmp/wine-reg.txt"
		grep -q "QuietUninstallString.*uninstall.exe\" /S" "$tmp/wine-reg.txt" || bad "no QuietUninstallString in the uninstall entry"
		grep -q "DisplayVersion *REG_SZ *$version\$" "$tmp/wine-reg.txt" || bad "the uninstall entry does not say version $version"
		# A station's data, which the uninstaller must leave alone.
		data=$c/users/$(id -un)/AppData/Roaming/tally
		mkdir -p "$data"
		echo "the record of the count" >"$data/station.db"
		"$wine" 'C:\Program Files\Tally\uninstall.exe' /S || bad "the silent uninstall failed (exit status $?)"
		wait_wine
		[[ ! -e "$c/Program Files/Tally" ]] || bad "the uninstaller left Program Files\\Tally: $(ls "$c/Program Files/Tally")"
		[[ ! -e "$c/ProgramData/Microsoft/Windows/Start Menu/Programs/Tally.lnk" ]] || bad "the uninstaller left the Start-menu entry"
		"$wine" reg query 'HKLM\Software\Tally' >/dev/null 2>&1 && bad "the uninstaller left HKLM\\Software\\Tally"
		wait_wine
		[[ $(cat "$data/station.db" 2>/dev/null) == "the record of the count" ]] || bad "the uninstaller touched the station's data in %APPDATA%\\tally"
		exit "$fail"
	) || fail=1
else
	echo "release-check: no Wine (/usr/lib/wine/wine64): the installer is checked only as a file"
fi

# --- verify-release --------------------------------------------------------

step "tally verify-release"
key_pub=$tmp/release.key.pub
"$app" verify-release "$rel" --key "$key_pub" \
	"$x/tally_${version}_amd64/usr/bin/tally" "$x/tallyd_${version}_arm64/usr/bin/tallyd" >"$tmp/ok.log" 2>&1 ||
	{ cat "$tmp/ok.log" >&2; bad "verify-release refuses the release it was built with"; }
grep -q "Authenticode: CN=Tally release check" "$tmp/ok.log" || bad "verify-release did not report the Authenticode signer"
grep -q "/usr/bin/tallyd is .*tallyd_${version}_arm64.deb: usr/bin/tallyd" "$tmp/ok.log" || bad "verify-release did not find the installed tallyd"
fp=$("$app" verify-release "$rel" --key "$key_pub" | sed -n 's/^signed by release key //p')
"$app" verify-release "$rel" --fingerprint "$fp" >/dev/null || bad "verify-release refuses the release by its key's fingerprint"
"$app" verify-release "$rel" --key "$tmp/other.key.pub" >/dev/null 2>&1 && bad "verify-release accepts a release signed by another key"

# expect_named WHAT NAME: verify-release fails and names NAME, and only it.
expect_named() {
	local log=$tmp/tamper.log
	if "$app" verify-release "$rel" --key "$key_pub" >"$log" 2>&1; then
		bad "verify-release accepts the release with $1"
		return
	fi
	local failed
	failed=$(sed -n 's/^FAILED  \([^:]*\):.*/\1/p' "$log")
	[[ $failed == "$2" ]] || { cat "$log" >&2; bad "with $1, verify-release names '$failed', want '$2'"; }
	grep -q "release: 1 file does not match the signed manifest: $2 " "$log" || bad "with $1, the error does not name $2"
}
flip() { # FILE OFFSET: change one byte
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
for name in "tallyd_${version}_arm64.deb" "tally-$version-windows-amd64-setup.exe" "tally-$version-linux-amd64.tar.xz"; do
	cp -p "$rel/$name" "$tmp/saved"
	flip "$rel/$name" 1000
	expect_named "a byte of $name changed" "$name"
	mv "$tmp/saved" "$rel/$name"
done
echo extra >"$rel/tally-$version-windows-amd64-update.exe"
expect_named "a file added" "tally-$version-windows-amd64-update.exe"
rm "$rel/tally-$version-windows-amd64-update.exe"
cp -p "$rel/SHA256SUMS" "$tmp/saved"
sed -i -e '1{s/^0/1/;t' -e 's/^./0/' -e '}' "$rel/SHA256SUMS" # another hash, still hex
expect_named "SHA256SUMS edited" SHA256SUMS
mv "$tmp/saved" "$rel/SHA256SUMS"
"$app" verify-release "$rel" --key "$key_pub" >/dev/null || bad "verify-release refuses the release once restored"

if [[ $fail -ne 0 ]]; then
	echo "release-check: FAILED ($((SECONDS - started))s)" >&2
	exit 1
fi
echo "release-check: ok: $(ls "$rel" | wc -l) files of release $version built twice, identical, verified, tampering named ($((SECONDS - started))s)"
