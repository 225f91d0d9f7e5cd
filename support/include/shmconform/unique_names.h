// Run-unique IPC keys, POSIX shm names and the run id, so that parallel runs
// of the suite, and other software on the machine, never share an object.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace shmconform {

// The id of this run: $SHMCONFORM_RUN_ID when the harness sets it (so it can
// find what a run left behind), else random hex chosen once per process.
const std::string& RunId();

// A System V key that is not IPC_PRIVATE and names no segment right now.
// Keys carry kKeyMarker in their top byte, so leftovers are recognisable.
key_t UniqueIpcKey();
inline constexpr unsigned kKeyMarker = 0x5c;  // '\' : "shmconform"

// "/shmconform.<run>.<pid>.<n>.<tag>": a POSIX shm name (leading slash, no
// other slash, below NAME_MAX) unique to this run and call.
std::string UniqueShmName(std::string_view tag);

}  // namespace shmconform
