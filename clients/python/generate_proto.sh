#!/usr/bin/env bash
# Regenerates gradwatch/_proto/gradwatch_pb2.py from the project's one .proto file.
#   clients/python/generate_proto.sh [OUT_DIR]   (default: clients/python/gradwatch/_proto)
# Uses Debian's protoc (protobuf-compiler, 3.21). The generated file is committed and never edited
# by hand; tests/test_generated_proto.py regenerates it into a temporary directory and fails when
# the committed copy differs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$HERE/gradwatch/_proto}"
PROTOC="${PROTOC:-protoc}"
command -v "$PROTOC" >/dev/null 2>&1 || { echo "generate_proto.sh: protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# The import path keeps the descriptor's file name "gradwatch/v1/gradwatch.proto", as the Java side has it.
"$PROTOC" -I "$ROOT/protocol/src/main/proto" --python_out="$TMP" "$ROOT/protocol/src/main/proto/gradwatch/v1/gradwatch.proto"
mkdir -p "$OUT"
cp "$TMP/gradwatch/v1/gradwatch_pb2.py" "$OUT/gradwatch_pb2.py"
