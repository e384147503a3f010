# syntax=docker/dockerfile:1
# enmap-migrate in a container beside the bot (docs/install.md, "Container"): the bot's data
# volume is mounted at /data, the snapshot store at /snapshots, DATABASE_URL comes from the
# environment. The build stage compiles and packages it (cpack -G DEB); the runtime stage installs
# that package, so that apt brings exactly the runtime libraries its Depends name.
#   docker build -t enmap-migrate .
#   docker run --rm -v bot-data:/data -v enmap-snapshots:/snapshots -e DATABASE_URL enmap-migrate status
# scripts/container-test builds and runs it with podman.

FROM debian:bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ccache dpkg-dev file \
      libpqxx-dev libsqlitecpp-dev libsqlite3-dev libzstd-dev nlohmann-json3-dev \
      libcli11-dev libspdlog-dev libfmt-dev doctest-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# ccache survives between builds in a cache mount; CMAKE_SKIP_INSTALL_ALL_DEPENDENCY keeps cpack
# from building the test runner, which the package does not hold.
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
          -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DENMAP_MIGRATE_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target enmap-migrate enmap-migrate-docs \
 && cd /build && cpack -G DEB -B /package

FROM debian:bookworm
COPY --from=build /package/enmap-migrate_*.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/enmap-migrate_*.deb ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/enmap-migrate_*.deb
# The user id must be able to write the bot's files for `rollback files`: 1000 is the node image's
# `node` user; build with --build-arg UID=... to match another bot.
ARG UID=1000
RUN useradd --uid "$UID" --user-group --create-home --home-dir /home/enmap enmap \
 && mkdir -p /data /snapshots \
 && chown enmap:enmap /data /snapshots
ENV ENMAP_MIGRATE_STORE=/snapshots
VOLUME ["/data", "/snapshots"]
USER enmap
WORKDIR /home/enmap
ENTRYPOINT ["enmap-migrate"]
CMD ["--help"]
