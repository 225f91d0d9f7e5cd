"""OCI containers through podman: oci:RUNTIME[,OPTION...] and gvisor[:OPTION,...].
The driver (options, podman, image, agent, diagnoses, the target itself) is the
package harness/oci/; this module registers the two kinds."""
from __future__ import annotations

from harness.oci.target import OciTarget
from harness.targets.spec import family

family("oci", "oci:RUNTIME[,OPTION...]",
       "a podman container per round (no network) of runc, crun, runsc or a runtime path; "
       "options ipc=, cap-add=, cap-drop=, shm-size=, sysctl-rw=yes, platform=",
       takes_arg=True, order=95)(OciTarget)


@family("gvisor", "gvisor[:OPTION,...]", "gVisor: oci:runsc, ptrace platform unless platform= says else",
        takes_arg=True, order=96)
class GvisorTarget(OciTarget):
    """gVisor (runsc) under podman: oci:runsc by its natural name."""

    def __init__(self, spec: str, arg: str):
        super().__init__(spec, arg, family="gvisor")
