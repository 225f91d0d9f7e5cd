"""OCI containers through podman: option parsing (options.py), podman with its
configuration and storage in our cache (podman.py), the image made of the static
build (image.py), why a sandbox did not start (diagnose.py) and the oci:/gvisor
target (target.py)."""
