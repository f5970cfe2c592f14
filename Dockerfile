# spotcheck's container image: one static binary on distroless, as a
# non-root user. The same image runs `api`, `worker` and `migrate up`
# (deploy/k8s/spotcheck.yaml).
#
#   docker build -t registry.example.gov.cn/spotcheck/spotcheck:1.0.0 --build-arg VERSION=1.0.0 .

# ---- build
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a change to the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
# No cgo: lib/pq and the rest are pure Go, so the binary needs no libc.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/spotcheck ./cmd/spotcheck

# ---- run
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/spotcheck /usr/local/bin/spotcheck
# 65532 is distroless's "nonroot"; the Kubernetes manifests require it.
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/spotcheck"]
CMD ["api"]
