# Build the manager binary.
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH
# What the manager's --version prints; make docker-build passes them.
ARG VERSION=dev
ARG COMMIT=unknown

WORKDIR /workspace
# Download modules in their own layer, so source changes do not re-download them.
COPY go.mod go.sum ./
RUN go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/

# TARGETOS/TARGETARCH are set by `docker buildx build --platform`; empty means the builder's platform.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o manager ./cmd/manager

# Run it on distroless: no shell, no package manager, non-root by default.
# More info: https://github.com/GoogleContainerTools/distroless
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
