# The truss-ci image for GitLab CI and other container CIs: a static (musl) binary on Alpine, with a
# shell for the job's `script:`, CA certificates and a non-root user. There is no ENTRYPOINT, so
# GitLab's script runs as written.

FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin truss-ci

FROM alpine:3.22
ARG VERSION=dev
LABEL org.opencontainers.image.title="truss-ci" \
      org.opencontainers.image.description="Log CI jobs into Baseten: validate an API key and write it where truss reads it" \
      org.opencontainers.image.source="https://github.com/baseten/auth-action" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
RUN apk add --no-cache ca-certificates \
    && adduser -D -u 10001 -h /home/truss truss
COPY --from=build /src/target/release/truss-ci /usr/local/bin/truss-ci
USER 10001
WORKDIR /home/truss
CMD ["truss-ci", "--help"]
