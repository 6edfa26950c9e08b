#!/bin/sh
# Run a build command trusting the CA bundle given as the build secret `ca_bundle`, if one was given
# (a TLS-intercepting proxy between the build and PyPI/npm). The secret is mounted only while the
# command runs (`RUN --mount=type=secret,id=ca_bundle`): it is never written into a layer.
#
#   docker build --secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt ...
set -eu
ca=/run/secrets/ca_bundle
if [ -s "$ca" ]; then
  # a full bundle (public roots + the proxy's) replaces pip's and OpenSSL's; Node adds it to its own
  export PIP_CERT="$ca" REQUESTS_CA_BUNDLE="$ca" SSL_CERT_FILE="$ca" NODE_EXTRA_CA_CERTS="$ca"
fi
exec "$@"
