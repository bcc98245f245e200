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
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | awk '{ print $1 }'
	elif node="$(find_node)"; then
		"$node" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1"
	fi
}

# find_node prints a Node.js that runs here: one on PATH, else the
# runner's own. GitHub's runners mount their externals read-only at /__e
# in a job's container (the same directory they run JavaScript actions
# with): /__e/node20/bin/node and node24 are glibc builds, node20_alpine
# and node24_alpine musl builds for Alpine images; whichever starts here
# will do.
find_node() {
	if command -v node >/dev/null 2>&1 && node -e 0 >/dev/null 2>&1; then
		command -v node
		return 0
	fi
	for n in /__e/node*/bin/node; do
		if [ -x "$n" ] && "$n" -e 0 >/dev/null 2>&1; then
			printf '%s\n' "$n"
			return 0
		fi
	done
	return 1
}

# node_fetch URL FILE downloads with Node.js, under the rules curl gets
# below: https only, redirects too (no http:, no file:).
node_fetch_js='
const fs = require("fs"), https = require("https");
const out = process.argv[2];
const fail = (m) => { console.error(m); process.exit(1); };
function get(u, hops) {
	if (!u.startsWith("https://")) fail("refusing " + u + ": only https");
	https.get(u, { timeout: 30000 }, (res) => {
		const loc = res.headers.location;
		if (res.statusCode >= 300 && res.statusCode < 400 && loc && hops < 5) {
			res.resume();
			return get(new URL(loc, u).href, hops + 1);
		}
		if (res.statusCode !== 200) fail("HTTP " + res.statusCode + " for " + u);
		const f = fs.createWriteStream(out);
		res.on("error", (e) => fail(e.message));
		f.on("error", (e) => fail(e.message));
		res.pipe(f);
		f.on("finish", () => f.close(() => process.exit(0)));
	}).on("timeout", function () { this.destroy(new Error("timed out after 30s")); })
		.on("error", (e) => fail(e.message));
}
get(process.argv[1], 0);
'

# wget_fetch URL FILE downloads with GNU wget, following at most 5
# redirects itself so that each one is checked: wget has no --proto, and
# would follow one to http.
wget_fetch() {
	u="$1" hops=0
	while :; do
		case "$u" in
		https://*) ;;
		*) echo "pitstop: refusing $u: only https" >&2; return 1 ;;
		esac
		if wget -q -S --max-redirect=0 --timeout=30 -O "$2" "$u" 2>"$2.headers"; then
			rm -f "$2.headers"
			return 0
		fi
		loc="$(sed -n 's/^ *[Ll]ocation: *//p' "$2.headers" | tr -d '\r' | tail -n 1)"
		rm -f "$2.headers"
		[ -n "$loc" ] && [ "$hops" -lt 5 ] || return 1
		case "$loc" in
		/*) loc="$(printf '%s\n' "$u" | sed 's|^\(https://[^/]*\).*|\1|')$loc" ;;
		esac
		u="$loc" hops=$((hops + 1))
	done
}

# fetch URL FILE downloads with curl, else GNU wget, else Node.js (the
# runner's, in a job container), so that an image with none of the first
# two can still install a release: https only, redirects included, with
# each of them. It sets lacking when there is no way at all.
fetch() {
	if command -v curl >/dev/null 2>&1; then
		echo "pitstop: downloading $1"
		curl -fsSL --proto '=https' --proto-redir '=https' --retry 3 --connect-timeout 10 -o "$2" "$1"
	elif command -v wget >/dev/null 2>&1 && wget --version 2>/dev/null | grep -q 'GNU Wget'; then
		# busybox's wget cannot be told not to follow a redirect to
		# http, so only GNU wget is used.
		echo "pitstop: downloading $1 with wget"
		wget_fetch "$1" "$2"
	elif node="$(find_node)"; then
		echo "pitstop: downloading $1 with $node (no curl or wget here)"
		"$node" -e "$node_fetch_js" "$1" "$2"
	else
		lacking=1
		return 1
	fi
}

# tool_cache prints the runner's tool cache: RUNNER_TOOL_CACHE, or /__t,
# where GitHub's runners mount it in a job's container.
tool_cache() {
	for d in "${RUNNER_TOOL_CACHE:-}" /__t; do
		if [ -n "$d" ] && [ -d "$d" ]; then
			printf '%s\n' "$d"
			return 0
		fi
	done
	return 1
}

# no_means fails the step for an image that has no way to download.
no_means() {
	echo "::error title=pitstop::cannot download pitstop: this image has neither curl nor wget, and no Node.js runs in it (GitHub's runners mount theirs at /__e/node20/bin/node in job containers; it needs glibc, and /__e/node20_alpine musl). Either add curl or wget to the image, or put $archive in the runner's tool cache at ${cache_dir:-RUNNER_TOOL_CACHE/pitstop/VERSION/ARCH}/ (checked against the checksum like a download), or mount a static pitstop into the container and give its path as input install"
	exit 1
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
	# GitHub Enterprise Server without access to github.com, or tests),
	# over https like any download. It cannot weaken anything: whatever is
	# downloaded must still match the checksum pinned in this ref.
	url="${PITSTOP_DOWNLOAD_URL:-https://github.com/$repository/releases/download/$version}/$archive"

	# The runner's tool cache may hold the archive from an earlier pause
	# on this runner (a self-hosted one keeps it; GitHub's hosted runners
	# start every job afresh). It is used only if it has the checksum
	# pinned here, like a download.
	from=""
	if cache="$(tool_cache)"; then
		cache_dir="$cache/pitstop/${version#v}/$cachearch"
		if [ -f "$cache_dir/$archive" ] && cp "$cache_dir/$archive" "$state/$archive" 2>/dev/null; then
			if [ "$(sha256 "$state/$archive")" = "$want" ]; then
				from="the runner's tool cache ($cache_dir)"
				echo "pitstop: using $archive from $from"
			else
				rm -f "$state/$archive"
				echo "::warning title=pitstop::ignoring $cache_dir/$archive: its checksum is not the one this action pins"
			fi
		fi
	fi
	if [ -z "$from" ]; then
		if ! fetch "$url" "$state/$archive"; then
			[ -n "$lacking" ] || echo "::warning title=pitstop::could not download $url"
			return 1
		fi
		from="$url"
	fi
	got="$(sha256 "$state/$archive")"
	if [ "$got" != "$want" ]; then
		rm -f "$state/$archive"
		echo "::error title=pitstop::checksum mismatch for $archive: got ${got:-nothing (no sha256sum, shasum or Node.js here)}, this action pins $want; refusing to run it"
		exit 1
	fi
	if [ "$from" = "$url" ] && [ -n "${cache_dir:-}" ]; then
		keep_in_cache
	fi
	if [ "$goos" = windows ] && command -v unzip >/dev/null 2>&1; then
		unzip -q -o "$state/$archive" "pitstop$exe" -d "$state/bin"
	elif [ "$goos" = windows ]; then
		# Without unzip (Git Bash need not have it), Windows' own tar
		# (bsdtar, Windows 10 1803 and later) reads zip archives.
		(cd "$state/bin" && "${SYSTEMROOT:-C:/Windows}/System32/tar.exe" -xf "$state/$archive" "pitstop$exe")
	else
		tar -xzf "$state/$archive" -C "$state/bin" pitstop
	fi
	rm -f "$state/$archive"
	echo "pitstop: installed release $version for $goos/$goarch (sha256 $got, from $from) in $(since "$started")"
}

# keep_in_cache copies the verified archive into the tool cache for the
# next pause on this runner, with the .complete marker of the cache's
# layout (TOOL/VERSION/ARCH). A cache that cannot be written is left be.
keep_in_cache() {
	if mkdir -p "$cache_dir" 2>/dev/null &&
		cp "$state/$archive" "$cache_dir/.$archive.$$" 2>/dev/null &&
		mv -f "$cache_dir/.$archive.$$" "$cache_dir/$archive" 2>/dev/null; then
		: >"$cache_dir.complete" 2>/dev/null || true
		echo "pitstop: kept $archive in the runner's tool cache ($cache_dir)"
	else
		rm -f "$cache_dir/.$archive.$$" 2>/dev/null || true
	fi
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

lacking=""
case "$mode" in
release)
	if ! install_release; then
		[ -z "$lacking" ] || no_means
		echo "::error title=pitstop::install is \"release\" but no verified build could be installed for ${goos:-this OS}/${goarch:-this architecture}"
		exit 1
	fi
	;;
source) install_source ;;
auto)
	if ! install_release; then
		# Without a way to download, a Go toolchain could still build
		# the source; without that too, say what the image lacks.
		if [ -n "$lacking" ] && ! find_go >/dev/null; then
			no_means
		fi
		install_source
	fi
	;;
/*) install_file ;;
esac

{
	echo "bin=$bin"
	echo "state=$state"
} >>"$GITHUB_OUTPUT"
