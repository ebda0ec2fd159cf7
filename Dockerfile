# The truss-ci image for GitLab CI and other container CIs. It is assembled FROM scratch out of
# the release's own static binary (dist/, made by scripts/release-build.sh or the release
# workflow: nothing is compiled here) and a few files from Debian's packages: busybox for the
# job's `script:` shell, the CA bundle, and a passwd entry for a non-root user with a writable
# HOME. There is no ENTRYPOINT, so GitLab's script runs as written.
#
#   podman build --build-arg BASE=localhost/debian:bookworm-minbase -t truss-ci .   (scripts/image.sh)
#   docker buildx build --platform linux/arm64 ...                 (the release, on an arm64 runner)

ARG BASE=debian:bookworm-slim

FROM ${BASE} AS assemble
ARG TARGETARCH=amd64
# Debian's archive moves on; pinned versions would break the build, not make it reproducible.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends busybox-static ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY dist/ /dist/
RUN case "$TARGETARCH" in \
        amd64) target=x86_64-unknown-linux-musl ;; \
        arm64) target=aarch64-unknown-linux-musl ;; \
        *) echo "no truss-ci build for $TARGETARCH" >&2; exit 1 ;; \
    esac \
    && mkdir -p /out/bin /out/usr/local/bin /out/etc/ssl/certs /out/home/truss-ci /out/tmp \
    && install -m 0755 "/dist/truss-ci-$target" /out/usr/local/bin/truss-ci \
    && cp /bin/busybox /out/bin/busybox \
    && for applet in $(/out/bin/busybox --list); do \
        [ "$applet" = busybox ] || ln -s busybox "/out/bin/$applet" || exit 1; \
    done \
    && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ \
    && printf 'root:x:0:0:root:/root:/bin/sh\ntruss-ci:x:10001:10001:truss-ci:/home/truss-ci:/bin/sh\n' > /out/etc/passwd \
    && printf 'root:x:0:\ntruss-ci:x:10001:\n' > /out/etc/group \
    && printf 'hosts: files dns\n' > /out/etc/nsswitch.conf \
    && chown 10001:10001 /out/home/truss-ci \
    && chmod 0700 /out/home/truss-ci \
    && chmod 1777 /out/tmp

FROM scratch
ARG VERSION=dev
LABEL org.opencontainers.image.title="truss-ci" \
      org.opencontainers.image.description="Log CI jobs into Baseten: validate an API key and write it where truss reads it" \
      org.opencontainers.image.source="https://github.com/baseten/auth-action" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=assemble /out/ /
ENV PATH=/usr/local/bin:/bin \
    HOME=/home/truss-ci \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001:10001
WORKDIR /home/truss-ci
CMD ["truss-ci", "--help"]
