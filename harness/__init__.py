"""shmconform harness: runs the conformance suite on kernels, containers and
emulators and writes compliance reports. Runs on Debian's /usr/bin/python3
with the standard library and Debian python3-* packages only."""
