#!/bin/sh
# Creates the certificates of the steerdns etcd with openssl: a CA of its own, the server
# certificate etcd presents (for the steerdns-etcd Service IP and names), and the client
# certificate the DNS pods present. Nothing is sent anywhere: the files land in OUTDIR, and
# README.md ("etcd certificates") shows the kubectl commands that store them as Secrets.
#
# Usage: make-certs.sh SERVICE_IP OUTDIR [NAMESPACE]
#   SERVICE_IP  the steerdns-etcd Service's clusterIP, which the DNS pods dial:
#               kubectl -n kube-system get svc steerdns-etcd -o jsonpath='{.spec.clusterIP}'
#   OUTDIR      where ca.crt, server.crt, server.key, client.crt and client.key are written
#               (ca.key too: keep it offline, it signs new certificates)
#   NAMESPACE   the namespace of the manifests (default kube-system)
# Certificates are valid for DAYS days (default 365); run it again and replace the Secrets
# before they expire.
set -eu

if [ $# -lt 2 ]; then
	sed -n '6,13p' "$0" >&2
	exit 2
fi
ip=$1
out=$2
ns=${3:-kube-system}
days=${DAYS:-365}

case $ip in
*[!0-9a-fA-F:.]* | "") echo "make-certs.sh: $ip is not an IP address" >&2; exit 2 ;;
esac

mkdir -p "$out"
umask 077
cd "$out"

# The CA: 10 years, signs nothing but these certificates.
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 3650 \
	-subj "/CN=steerdns-etcd-ca" -keyout ca.key -out ca.crt \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

# issue NAME CN EXTENSIONS: a key and a certificate signed by the CA.
issue() {
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
		-subj "/CN=$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

issue server steerdns-etcd "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$ip,DNS:steerdns-etcd,DNS:steerdns-etcd.$ns.svc,DNS:*.steerdns-etcd-headless.$ns.svc"

issue client steerdns-coredns "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"

rm -f ca.srl
chmod 0644 ca.crt server.crt client.crt
echo "make-certs.sh: wrote ca.crt ca.key server.crt server.key client.crt client.key to $out" >&2
