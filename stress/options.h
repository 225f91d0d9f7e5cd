// The command line every stress binary shares: --duration, --ops, --workers,
// --seed, --json, --inject and the scenario's numeric options.
#pragma once

#include "framework.h"

namespace shmconform::stress {

// The run's configuration. Prints --help and exits 0, or prints one
// "invalid option" line and exits kExitUsage, before anything is created.
Config ParseOptions(int argc, char** argv, const ScenarioDef& def);

}  // namespace shmconform::stress
