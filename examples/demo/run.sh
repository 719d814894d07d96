#!/usr/bin/env bash
# Starts the demo: the four web servers and coredns on 127.0.0.1:1053. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")"
root=../..

go build -o "$root/bin/webservers" ./webservers
go build -o "$root/bin/fetch" ./fetch

"$root/bin/webservers" &
web=$!
trap 'kill $web 2>/dev/null; wait $web 2>/dev/null' EXIT
trap 'exit 0' INT # Ctrl-C is how the demo ends, not a failure

echo
echo "steerdns demo: DNS on 127.0.0.1:1053, web servers on 127.0.0.2-5:8080"
echo "try:  dig @127.0.0.1 -p 1053 cats.example.test +short"
echo "      ./bin/fetch http://cats.example.test:8080/"
echo
"$root/coredns" -conf Corefile
