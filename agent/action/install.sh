#!/bin/sh
# Puts a pitstop binary for this runner into a fresh directory under
# RUNNER_TEMP and reports it as the step outputs `bin` and `state`.
#
# POSIX sh, not bash: in a job that runs in a container (`container:`) the
# action's steps run inside that container, which may have nothing but
# /bin/sh (busybox, distroless-like images). The binary is static, so it
# runs there too.
#
# The ways, chosen by PITSTOP_INSTALL (auto|release|source|PATH):
#   release  download the build pinned in this ref (release + checksums.txt
#            next to this script) and run it only if its SHA-256 matches;
#   source   build the action's own source with a Go toolchain from PATH or
#            from the runner's tool cache;
#   /PATH    an absolute path: use that pitstop binary as it is (pitstop act
#            passes the one it runs with, shared into the job's container).
# auto takes the release when this ref pins one for this OS/arch and falls
# back to source when the download fails. A checksum mismatch never falls
# back: it means the file is not what was released, and the step fails.
#
# Nothing here writes to GITHUB_PATH or GITHUB_ENV: the job is being
# debugged as it is, so its PATH, GOROOT and GOFLAGS stay the user's.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
src="$(cd "$here/../.." && pwd)"
mode="${PITSTOP_INSTALL:-auto}"

# Seconds with millisecond precision where date can tell (GNU date),
# whole seconds otherwise (busybox, macOS).
now() {
	t="$(date +%s.%N 2>/dev/null || true)"
	case "$t" in
	*N* | "") date +%s ;;
	*) printf '%s' "$t" ;;
	esac
}
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
started="$(now)"

case "$mode" in
auto | release | source | /*) ;;
*)
	echo "::error title=pitstop::input install is \"$mode\"; valid values: auto, release, source, or the absolute path of a pitstop binary"
	exit 1
	;;
esac

case "${RUNNER_OS:-$(uname -s)}" in
Linux) goos=linux ;;
macOS | Darwin) goos=darwin ;;
Windows | MINGW* | MSYS* | CYGWIN*) goos=windows ;;
*) goos="" ;;
esac
case "${RUNNER_ARCH:-$(uname -m)}" in
X64 | x86_64 | amd64) goarch=amd64 cachearch=x64 ;;
ARM64 | arm64 | aarch64) goarch=arm64 cachearch=arm64 ;;
*) goarch="" cachearch="" ;;
esac
exe=""
[ "$goos" = windows ] && exe=".exe"

state="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/pitstop.XXXXXX")"
# The agent puts the directory of its own binary first on the sessions'
# PATH, so it holds pitstop and nothing else.
mkdir -p "$state/bin"
bin="$state/bin/pitstop$exe"

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | awk '{ print $1 }'
	else
		shasum -a 256 "$1" | awk '{ print $1 }'
	fi
}

# fetch URL FILE downloads with curl, else wget (busybox has one), so that
# an image without curl can still install a release.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL --proto '=https,file' --retry 3 --connect-timeout 10 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1; then
		case "$1" in
		https://*) wget -q -O "$2" "$1" ;;
		*) return 1 ;; # wget has no --proto: only https leaves the runner
		esac
	else
		echo "::warning title=pitstop::neither curl nor wget is installed to download pitstop"
		return 1
	fi
}

# install_release prints nothing and returns 1 when this ref pins no build
# for this platform or the download fails (a fallback is still possible);
# it exits the script on a checksum mismatch.
install_release() {
	release="$here/release" sums="$here/checksums.txt"
	[ -f "$release" ] && [ -f "$sums" ] && [ -n "$goos" ] && [ -n "$goarch" ] || return 1
	version="$(sed -n 's/^version=//p' "$release")"
	repository="$(sed -n 's/^repository=//p' "$release")"
	[ -n "$version" ] && [ -n "$repository" ] || return 1
	archive="pitstop_${version#v}_${goos}_${goarch}.tar.gz"
	[ "$goos" = windows ] && archive="pitstop_${version#v}_${goos}_${goarch}.zip"
	want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$sums")"
	[ -n "$want" ] || return 1

	# PITSTOP_DOWNLOAD_URL points at a mirror of the release files (a
	# GitHub Enterprise Server without access to github.com, or tests).
	# It cannot weaken anything: whatever is downloaded must still match
	# the checksum pinned in this ref.
	url="${PITSTOP_DOWNLOAD_URL:-https://github.com/$repository/releases/download/$version}/$archive"
	echo "pitstop: downloading $url"
	if ! fetch "$url" "$state/$archive"; then
		echo "::warning title=pitstop::could not download $url"
		return 1
	fi
	got="$(sha256 "$state/$archive")"
	if [ "$got" != "$want" ]; then
		rm -f "$state/$archive"
		echo "::error title=pitstop::checksum mismatch for $archive: got $got, this action pins $want; refusing to run it"
		exit 1
	fi
	if [ "$goos" = windows ]; then
		unzip -q -o "$state/$archive" "pitstop$exe" -d "$state/bin"
	else
		tar -xzf "$state/$archive" -C "$state/bin" pitstop
	fi
	rm -f "$state/$archive"
	echo "pitstop: installed release $version for $goos/$goarch (sha256 $got) in $(since "$started")"
}

# find_go prints the path of a go command: the one on PATH, else the newest
# in the runner's tool cache (where actions/setup-go keeps its toolchains,
# also when an earlier setup-go step was not run in this job).
find_go() {
	if command -v go >/dev/null 2>&1; then
		command -v go
		return 0
	fi
	cache="${RUNNER_TOOL_CACHE:-${AGENT_TOOLSDIRECTORY:-}}" found=""
	if [ -n "$cache" ] && [ -n "$cachearch" ] && [ -d "$cache/go" ]; then
		found="$(ls -d "$cache"/go/*/"$cachearch"/bin/go"$exe" 2>/dev/null | sort -V | tail -n 1 || true)"
	fi
	[ -n "$found" ] || return 1
	printf '%s\n' "$found"
}

install_source() {
	cache="${RUNNER_TOOL_CACHE:-}"
	[ -n "$cache" ] || cache="the runner's tool cache"
	if ! go="$(find_go)"; then
		echo "::error title=pitstop::no released build is pinned for this ref and no Go toolchain was found on PATH or in $cache; add actions/setup-go before this step, or use a released ref such as pitstopci/pitstop/agent@v1"
		exit 1
	fi
	echo "pitstop: building from source in $src with $("$go" version)"
	# The build runs in a subshell with an environment of its own:
	# - GOOS/GOARCH, and CGO_ENABLED/CC/CXX, of a cross-compiling job must
	#   not make a binary this runner cannot run;
	# - GOFLAGS (e.g. -mod=vendor) and GOWORK belong to the user's module;
	# - -buildvcs=false because the action's copy may have no commits (act)
	#   or a HOME that git refuses as unsafe;
	# - GOROOT is unset so a tool-cache go finds its own root.
	# Otherwise the flags are go build's defaults (no -trimpath, no
	# -ldflags): the build cache then shares every dependency with a plain
	# `go build` of pitstop, which makes the first pause after one take
	# seconds instead of a cold build's 20-50.
	(
		cd "$src"
		unset GOOS GOARCH GOROOT GOWORK GOFLAGS GOEXPERIMENT CGO_ENABLED CC CXX
		"$go" build -buildvcs=false -o "$bin" ./cmd/pitstop
	)
	echo "pitstop: built from source in $(since "$started")"
}

# install_file copies a binary the caller already has (pitstop act's own,
# shared into the job's container) and checks that it runs here: a
# dynamically linked build would fail only later, with a confusing
# "not found" from the kernel.
install_file() {
	if [ ! -f "$mode" ]; then
		echo "::error title=pitstop::input install names $mode, which is not a file here; in a job container it must be a path inside the container"
		exit 1
	fi
	cp "$mode" "$bin"
	chmod 755 "$bin"
	if ! out="$("$bin" version 2>&1)"; then
		echo "::error title=pitstop::$mode does not run here ($out); a job container needs a static build (CGO_ENABLED=0)"
		exit 1
	fi
	echo "pitstop: using $mode ($out, sha256 $(sha256 "$bin"))"
}

case "$mode" in
release)
	if ! install_release; then
		echo "::error title=pitstop::install is \"release\" but no verified build could be installed for ${goos:-this OS}/${goarch:-this architecture}"
		exit 1
	fi
	;;
source) install_source ;;
auto) install_release || install_source ;;
/*) install_file ;;
esac

{
	echo "bin=$bin"
	echo "state=$state"
} >>"$GITHUB_OUTPUT"
