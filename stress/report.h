// The result of a run on stdout: one JSON object with --json (the contract
// the harness's reports read, see stress/README.md), else a few lines for a
// person.
#pragma once

#include <string>

#include "framework.h"

namespace shmconform::stress {

// `interrupted`: the signal that stopped the run, or 0. `skipped`: why the
// run did not happen, or "".
void Report(const Run& run, double seconds, int interrupted, const std::string& skipped);

}  // namespace shmconform::stress
