# The mlscore container image: the static (musl) release binary on Alpine,
# with git (mlscore reads the base revision from git) and CA certificates (to
# post to GitHub). For Jenkins agents and other CI:
#   docker run --rm -v "$PWD:/work" -w /work ghcr.io/mlscore/mlscore:0.1.0 check .
#
# Built by .github/workflows/release.yml from the release archive's binary,
# placed at dist/<arch>/mlscore (amd64, arm64); it compiles nothing. To build
# one by hand from a local build:
#   cargo build --release --locked --target x86_64-unknown-linux-musl
#   mkdir -p dist/amd64 && cp target/x86_64-unknown-linux-musl/release/mlscore dist/amd64/
#   docker build --platform linux/amd64 -t mlscore .
FROM alpine:3.22

ARG TARGETARCH
ARG VERSION=0.1.0

LABEL org.opencontainers.image.title="mlscore" \
      org.opencontainers.image.description="Lint ML repositories against Google's ML Test Score rubric and gate merges" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/mlscore/mlscore" \
      org.opencontainers.image.version="${VERSION}"

# DL3018 (pin apk versions) is ignored: Alpine drops old package versions from
# its mirrors, so a pin breaks the build within weeks; the base image's minor
# release (3.22) fixes the package set, and the image is rebuilt per release.
# hadolint ignore=DL3018
RUN apk add --no-cache git ca-certificates \
    # CI checks out the workspace as another user than the container's: let
    # git read it (mlscore only reads).
    && git config --system --add safe.directory '*'

COPY --chmod=0755 dist/${TARGETARCH}/mlscore /usr/local/bin/mlscore

WORKDIR /work
ENTRYPOINT ["mlscore"]
CMD ["--help"]
