# steerdns: the custom coredns (CoreDNS v1.15.0 with the steerdns plugins) as a container image,
# for people with Docker. Build from the repository root:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t REGISTRY/steerdns/coredns:VERSION .
# The path built and tested on the development machines is examples/image/build.sh (podman,
# FROM scratch, no base image to pull): see examples/kubernetes/README.md.

# Build stage: a static binary (no cgo), so the final image needs no libc.
FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -buildvcs=false -trimpath -ldflags="-s -w -X main.version=${VERSION}" -o /coredns ./coredns-build
# A non-root process may bind port 53 only with this file capability. Kubernetes manifests
# add NET_BIND_SERVICE to the container, which keeps it in the bounding set.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libcap2-bin \
    && setcap cap_net_bind_service=+ep /coredns

# Final stage: no shell, no package manager, CA certificates for HTTPS health checks.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
LABEL org.opencontainers.image.version=${VERSION}
COPY --from=build /coredns /coredns
# Numeric, so that runAsNonRoot can verify it without a passwd lookup.
USER 65532:65532
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
