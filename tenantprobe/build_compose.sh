#!/usr/bin/env bash
# Build the Docker Compose v2 CLI plugin (pinned) from the Go module proxy, for engines whose
# docker CLI has no `docker compose` (Debian's docker.io). Cached; no container engine needed.
#
# Usage: build_compose.sh          build if needed; prints the plugin's path on stdout
#        build_compose.sh --path   only print the plugin's path (no build)
#        build_compose.sh --check  exit 0 if the cache is current, 1 if a build is needed (no build)
#
# Progress goes to stderr; stdout carries only the path.
#
# Environment:
#   TENANTPROBE_COMPOSE_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/tenantprobe/compose);
#                              the plugin lands in $TENANTPROBE_COMPOSE_CACHE/<version>/docker-compose
#   TENANTPROBE_GO_JOBS        go build -p (default 2)
set -euo pipefail

MODULE="github.com/docker/compose/v2"
VERSION="v2.40.3"   # the last v2 release; its go.mod needs go >= 1.24

CACHE_ROOT="${TENANTPROBE_COMPOSE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenantprobe/compose}"
VERSION_DIR="${CACHE_ROOT}/${VERSION}"
PLUGIN="${VERSION_DIR}/docker-compose"

log() { printf '[compose-build] %s\n' "$*" >&2; }
die() { printf '[compose-build] ERROR: %s\n' "$*" >&2; exit 1; }
is_current() { [[ -x "${PLUGIN}" ]]; }

case "${1:-}" in
    --path) echo "${PLUGIN}"; exit 0 ;;
    --check) if is_current; then exit 0; else exit 1; fi ;;
    "") ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument: $1" ;;
esac

if is_current; then
    echo "${PLUGIN}"
    exit 0
fi
command -v go >/dev/null || die "go not found in PATH"
mkdir -p "${VERSION_DIR}"
exec 9>"${VERSION_DIR}/.lock"   # one build at a time (parallel test sessions)
if ! flock -n 9; then
    log "another build holds ${VERSION_DIR}/.lock; waiting"
    flock 9
fi
if is_current; then
    echo "${PLUGIN}"
    exit 0
fi

T0=$(date +%s)
export GOTOOLCHAIN=local            # never download a toolchain
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0                # a static binary, no C toolchain needed

# `go install MODULE/cmd@VERSION` refuses a module whose go.mod has exclude directives (compose's
# has): build the module's own tree as the main module instead.
log "fetching ${MODULE}@${VERSION} from the module proxy"
SRC=$(go mod download -json "${MODULE}@${VERSION}" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[[ -d "${SRC}" ]] || die "could not download ${MODULE}@${VERSION}"
WORK="${VERSION_DIR}/src"
rm -rf "${WORK}"
cp -r "${SRC}" "${WORK}"
chmod -R u+w "${WORK}"

JOBS="${TENANTPROBE_GO_JOBS:-2}"
log "compiling docker-compose ${VERSION} (-p ${JOBS}; a cold build takes minutes)"
(cd "${WORK}" && nice -n 10 go build -p "${JOBS}" -trimpath \
    -ldflags="-s -w -X ${MODULE}/internal.Version=${VERSION}" -o "${PLUGIN}.tmp" ./cmd >&2)
rm -rf "${WORK}"
mv "${PLUGIN}.tmp" "${PLUGIN}"
log "built in $(( $(date +%s) - T0 )) s: ${PLUGIN}"
echo "${PLUGIN}"
