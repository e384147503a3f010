# The one build configuration that scripts/demo, scripts/test and scripts/bench share, so that the
# README's commands work in any order and one after the other (a cache made by one is the cache the
# next one expects). Sourced, not run.
#   em_build DIR [CMAKE-ARG...] [-- TARGET...]
# Configures DIR (RelWithDebInfo, warnings as errors, ccache when installed) and builds it quietly:
# the compiler's output goes to DIR/build.log and is shown only when the build fails.

em_build() {
  local dir=$1
  shift
  local args=() targets=()
  while [[ $# -gt 0 ]]; do
    if [[ $1 == -- ]]; then
      shift
      targets=("$@")
      break
    fi
    args+=("$1")
    shift
  done
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  local launcher=()
  command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  # Every option is given on every run: an old cache made with other options (a Release build/
  # from an earlier demo, say) is brought back to this configuration instead of being reused.
  local configure=(cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
                   -DENMAP_MIGRATE_WERROR=ON "${launcher[@]}" "${args[@]}")
  local build=(cmake --build "$dir" -j"${JOBS:-2}")
  [[ ${#targets[@]} -gt 0 ]] && build+=(--target "${targets[@]}")
  mkdir -p "$dir"
  if ! "${configure[@]}" >"$dir/configure.log" 2>&1; then
    cat "$dir/configure.log" >&2
    echo "build: configuring $dir failed (log above, also in $dir/configure.log)" >&2
    return 1
  fi
  if [[ -t 2 ]]; then
    printf 'building %s (log: %s/build.log) ...' "$dir" "$dir" >&2
  fi
  if ! "${build[@]}" >"$dir/build.log" 2>&1; then
    [[ -t 2 ]] && printf '\n' >&2
    cat "$dir/build.log" >&2
    echo "build: building $dir failed (log above, also in $dir/build.log)" >&2
    return 1
  fi
  [[ -t 2 ]] && printf ' done\n' >&2
  return 0
}
