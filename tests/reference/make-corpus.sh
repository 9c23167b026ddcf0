#!/bin/sh
# make-corpus.sh CHECKOUT [OUT] - regenerates the reference-verdict corpus.
#
# CHECKOUT is a checkout (or `git archive` extract) of huggingface/safetensors;
# its source is read, never copied into this repository. The script builds
# tests/reference/oracle (our own program, calling only the reference crate's
# public API) against CHECKOUT/safetensors with Debian's rustc and Debian's
# packaged crates, offline; writes the vectors with gen-corpus.py; asks the
# oracle for the reference's verdict on each; and replaces OUT/vectors and
# OUT/verdicts.tsv (OUT defaults to tests/data/reference-corpus).
#
# The commit is taken from `git -C CHECKOUT rev-parse HEAD`; for an extract
# without .git, set REF_COMMIT. RUSTC and CARGO name the toolchain (default:
# Debian's /usr/bin ones, never a rustup shim on PATH). Needs: rustc-web and
# cargo-web (the reference needs rustc >= 1.80: Debian's plain rustc 1.63 is
# too old), librust-serde-json-dev, librust-serde-derive-dev,
# librust-tempfile-dev, python3. See tests/reference/README.md.
set -eu

usage() { echo "usage: $0 CHECKOUT [OUT]" >&2; exit 2; }
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
checkout=$(cd "$1" && pwd)
out=${2:-$root/tests/data/reference-corpus}
RUSTC=${RUSTC:-/usr/bin/rustc}
CARGO=${CARGO:-/usr/bin/cargo}
REGISTRY=${REGISTRY:-/usr/share/cargo/registry}

crate=$checkout/safetensors
[ -f "$crate/Cargo.toml" ] || { echo "$0: $crate/Cargo.toml not found" >&2; exit 2; }
commit=${REF_COMMIT:-$(git -C "$checkout" rev-parse HEAD 2>/dev/null || true)}
case $commit in
    [0-9a-f]*) ;;
    *) echo "$0: cannot tell the checkout's commit: set REF_COMMIT" >&2; exit 2 ;;
esac
for tool in "$RUSTC" "$CARGO" python3; do
    command -v "$tool" >/dev/null || { echo "$0: $tool not found" >&2; exit 2; }
done

# The reference states the rustc it needs; say so plainly instead of letting
# cargo fail on a let-else three screens down.
need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$crate/Cargo.toml")
have=$("$RUSTC" --version | sed -n 's/^rustc \([0-9]*\.[0-9]*\).*/\1/p')
if [ -n "$need" ] && [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    echo "$0: the reference needs rustc >= $need, $RUSTC is $have (apt-get install rustc-web cargo-web)" >&2
    exit 2
fi

build=$(mktemp -d "${TMPDIR:-/tmp}/st-oracle-XXXXXX")
trap 'rm -rf "$build"' EXIT
mkdir -p "$build/oracle/.cargo" "$build/vectors"
cp -R "$here/oracle/src" "$here/oracle/stub-hashbrown" "$build/oracle/"
sed -e "s|@REFERENCE@|$crate|" -e "s|@ORACLE@|$build/oracle|" \
    "$here/oracle/Cargo.toml.in" > "$build/oracle/Cargo.toml"
cat > "$build/oracle/.cargo/config.toml" <<EOF
[source.crates-io]
replace-with = "debian"

[source.debian]
directory = "$REGISTRY"

[net]
offline = true
EOF

echo "building the oracle against $crate ($commit) with $("$RUSTC" --version)" >&2
# a private CARGO_HOME: no user config or cached registry can change the build
(cd "$build/oracle" && CARGO_HOME="$build/cargo-home" RUSTC="$RUSTC" \
    "$CARGO" build --release --offline --quiet --target-dir "$build/target")
oracle=$build/target/release/st-oracle
serde_json=$(awk '/^name = "serde_json"/ {getline; gsub(/[^0-9.]/, ""); print}' \
    "$build/oracle/Cargo.lock")
serde=$(awk '/^name = "serde"$/ {getline; gsub(/[^0-9.]/, ""); print}' "$build/oracle/Cargo.lock")

python3 "$here/gen-corpus.py" "$build/vectors" > "$build/manifest.tsv"
run_oracle() {
    cut -f1 "$build/manifest.tsv" | sed "s|^|$build/vectors/|" | tr '\n' '\0' | xargs -0 "$oracle"
}
# twice: the reference keeps tensors in a randomly seeded HashMap, and a
# verdict that depended on its order would not be a verdict
run_oracle > "$build/verdicts.raw"
run_oracle > "$build/verdicts.again"
if ! cmp -s "$build/verdicts.raw" "$build/verdicts.again"; then
    echo "$0: the reference's verdicts differ between two runs:" >&2
    diff "$build/verdicts.raw" "$build/verdicts.again" >&2 || true
    exit 1
fi

# join manifest (name, what) with the verdicts (name, verdict, detail), in
# manifest order; a name missing on either side is an error
awk -F '\t' 'NR == FNR { v[$1] = $2; d[$1] = $3; next }
             !($1 in v) { print "no verdict for " $1 > "/dev/stderr"; bad = 1; next }
             { print $1 "\t" v[$1] "\t" $2 "\t" d[$1]; n++ }
             END { if (bad || n != length(v)) exit 1 }' \
    "$build/verdicts.raw" "$build/manifest.tsv" > "$build/verdicts.body"

mkdir -p "$out"
rm -rf "$out/vectors"
cp -R "$build/vectors" "$out/vectors"
{
    echo "# Verdicts of the reference safetensors parser (SafeTensors::deserialize) on vectors/."
    echo "# reference: huggingface/safetensors $commit"
    echo "# built with: $("$RUSTC" --version), serde $serde, serde_json $serde_json (Debian)"
    echo "# regenerate: tests/reference/make-corpus.sh CHECKOUT (see tests/reference/README.md)"
    echo "# columns: file<TAB>verdict (ok or the SafeTensorError variant)<TAB>what the vector is<TAB>the reference's message"
    cat "$build/verdicts.body"
} > "$out/verdicts.tsv"
total=$(wc -l < "$build/verdicts.body")
okc=$(awk -F '\t' '$2 == "ok"' "$build/verdicts.body" | wc -l)
echo "wrote $total vectors to $out ($okc accepted by the reference)" >&2
if grep -q "$(printf '\tpanic\t')" "$build/verdicts.body"; then
    echo "$0: the reference panicked on some vectors (verdict 'panic')" >&2
fi
