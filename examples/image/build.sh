#!/usr/bin/env bash
# Builds the steerdns coredns as an OCI image with podman, without Docker and without pulling a
# base image: FROM scratch, holding only the static binary, the build machine's CA
# certificates (for HTTPS health checks) and passwd/group files naming the non-root user
# 65532. The image is tagged and labelled with the version from `git describe`, which is also
# stamped into the binary (`coredns -version`).
#
# Usage (from anywhere in the repository):
#   examples/image/build.sh                 # builds localhost/steerdns/coredns:VERSION
#   IMAGE=registry.example.com/steerdns/coredns:v1 examples/image/build.sh
# Environment:
#   VERSION      the version to stamp and tag (default: git describe --tags --always --dirty)
#   IMAGE        the image name (default: localhost/steerdns/coredns:$VERSION)
#   COREDNS_BIN  a static coredns binary to put in the image instead of building one; it must
#                have been built with CGO_ENABLED=0 (the image has no libc)
#   CA_BUNDLE    the CA certificates to copy (default: /etc/ssl/certs/ca-certificates.crt)
# The last line of the output is the image name, for scripts.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
IMAGE=${IMAGE:-localhost/steerdns/coredns:$VERSION}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
UID_GID=65532

if ! command -v podman >/dev/null; then
	echo "build.sh: podman is not installed (Debian: apt-get install podman)" >&2
	exit 1
fi
if [ ! -s "$CA_BUNDLE" ]; then
	echo "build.sh: no CA certificates at $CA_BUNDLE (Debian: apt-get install ca-certificates)" >&2
	exit 1
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/etc/ssl/certs"

if [ -n "${COREDNS_BIN:-}" ]; then
	cp "$COREDNS_BIN" "$ctx/rootfs/coredns"
else
	# Static: the image has no libc. -trimpath keeps the build machine's paths out.
	CGO_ENABLED=0 go build -buildvcs=false -trimpath \
		-ldflags "-s -w -X main.version=$VERSION" -o "$ctx/rootfs/coredns" ./coredns-build
fi
# A non-root process binds port 53 only with this file capability (the pod adds
# NET_BIND_SERVICE to the bounding set; the file capability raises it when coredns starts).
if command -v setcap >/dev/null; then
	setcap cap_net_bind_service=+ep "$ctx/rootfs/coredns"
else
	echo "build.sh: setcap not found (Debian: libcap2-bin): the image can bind port 53 only as root" >&2
fi

cp "$CA_BUNDLE" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"
# Names for the numeric user, for tools that look it up; the pods' runAsUser is the number.
printf 'root:x:0:0:root:/root:/sbin/nologin\nsteerdns:x:%s:%s:steerdns:/nonexistent:/sbin/nologin\n' "$UID_GID" "$UID_GID" >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\nsteerdns:x:%s:\n' "$UID_GID" >"$ctx/rootfs/etc/group"
chmod 0755 "$ctx/rootfs/coredns"
chmod 0644 "$ctx/rootfs/etc/passwd" "$ctx/rootfs/etc/group" "$ctx/rootfs/etc/ssl/certs/ca-certificates.crt"

cat >"$ctx/Containerfile" <<CONTAINERFILE
FROM scratch
COPY rootfs/ /
USER $UID_GID:$UID_GID
EXPOSE 53/udp 53/tcp 8080/tcp 8181/tcp 9153/tcp
ENTRYPOINT ["/coredns"]
CONTAINERFILE

podman build --pull=never --no-cache \
	--label "org.opencontainers.image.version=$VERSION" \
	--label "org.opencontainers.image.title=steerdns coredns" \
	--label "org.opencontainers.image.description=CoreDNS with the steerdns plugins" \
	-t "$IMAGE" -f "$ctx/Containerfile" "$ctx" >&2

cat >&2 <<DONE
Built $IMAGE. To push it to your registry:
  podman push $IMAGE docker://REGISTRY/steerdns/coredns:$VERSION
DONE
echo "$IMAGE"
