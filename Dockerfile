# syntax=docker/dockerfile:1
# Portcullis: the release server and the built dashboard (dist/), on Debian, as a non-root user.
#
#   docker build -t portcullis .
#   docker run --rm -p 8080:8080 portcullis                      # demo mode (embedded emulator)
#   docker run --rm -p 8080:8080 -e PORTCULLIS_CREDENTIAL=managed-identity=<client id> \
#     -e PORTCULLIS_DATABASE_URL='postgres://...?sslmode=verify-full' portcullis
#
# docs/deploy.md walks through Azure Container Apps (deploy/main.bicep).

# --- build: the same toolchain recipe as a developer machine (scripts/setup.sh) ---------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# what the tests need (browser, PostgreSQL, the SDK virtualenv) is left out of the image build
RUN WITH_BROWSER=0 WITH_TEST_TOOLS=0 scripts/setup.sh \
 && scripts/build-frontend.sh \
 && cargo build --release --locked -p portcullis \
 && strip target/release/portcullis

# --- run -------------------------------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/portcullis --create-home portcullis
COPY --from=build /src/target/release/portcullis /usr/local/bin/portcullis
COPY --from=build /src/dist /usr/share/portcullis/dist
USER 10001:10001
WORKDIR /var/lib/portcullis
# MIMALLOC_PURGE_DELAY=0: the allocator hands freed pages back at once (a refresh of a large
# tenant frees GBs; BENCHMARKS.md, the server at scale)
ENV MIMALLOC_PURGE_DELAY=0 \
    PORTCULLIS_LISTEN=0.0.0.0:8080 \
    PORTCULLIS_DIST=/usr/share/portcullis/dist \
    PORTCULLIS_DATA_DIR=/var/lib/portcullis
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["portcullis"]
CMD ["serve"]
