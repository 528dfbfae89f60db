# Sourced by the vendor_*.sh scripts: `npm_package NAME VERSION SHA256 DIR` fetches the npm
# package NAME@VERSION, checks its tarball's SHA-256 and unpacks it into DIR/package.
npm_package() {
    local name=$1 version=$2 sha256=$3 dir=$4
    (cd "$dir" && npm pack --silent "$name@$version" >/dev/null)
    echo "$sha256  $dir/${name##*/}-$version.tgz" | sha256sum --check --quiet
    tar xzf "$dir/${name##*/}-$version.tgz" -C "$dir"
}
