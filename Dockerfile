# Hub's production image: a static binary on an empty base, running as a non-root user.
#
#   docker build --build-arg VERSION="$(git rev-parse --short HEAD)" -t hub .
#
# GO_IMAGE is overridable so the image can also be built offline from a locally made Go image
# (internal/infratest does that); production builds use the official one.
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local

# Dependencies first, so that this layer stays cached while only the code changes.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
ARG VERSION=dev
RUN go build -trimpath -ldflags "-s -w -X github.com/hubtrack/hub/internal/app.Version=${VERSION}" -o /out/hub ./cmd/hub

# What the empty base lacks: CA certificates (ElastiCache TLS and the ad platforms' APIs; RDS's
# own certificate authorities, which no public bundle carries, in rds-ca-bundle.pem, named by
# DATABASE_URL's sslrootcert),
# time zone data, a passwd entry for the non-root user and a writable data directory for the
# embedded (SQLite) mode.
RUN mkdir -p /out/etc/ssl/certs /out/data \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt \
 && cp certs/rds-ca-bundle.pem /out/etc/ssl/certs/rds-ca-bundle.pem \
 && cp "$(go env GOROOT)/lib/time/zoneinfo.zip" /out/zoneinfo.zip \
 && printf 'nonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' > /out/etc/passwd \
 && printf 'nonroot:x:65532:\n' > /out/etc/group

FROM scratch
COPY --from=build /out/etc/ /etc/
COPY --from=build /out/zoneinfo.zip /zoneinfo.zip
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build /out/hub /hub

ENV PORT=8080 HUB_DATA_DIR=/data ZONEINFO=/zoneinfo.zip
EXPOSE 8080
USER 65532:65532

# Migrations run inside `hub serve` at start, under a PostgreSQL advisory lock.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/hub", "healthcheck"]
ENTRYPOINT ["/hub"]
CMD ["serve"]
