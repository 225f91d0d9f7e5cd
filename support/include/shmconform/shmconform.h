// Everything a conformance or stress test needs from the support library.
#pragma once

#include "shmconform/async_safe_text.h"
#include "shmconform/child.h"
#include "shmconform/errno_names.h"
#include "shmconform/exec_scenario.h"
#include "shmconform/ipc_namespace.h"
#include "shmconform/owners.h"
#include "shmconform/privileges.h"
#include "shmconform/requirements.h"
#include "shmconform/result.h"
#include "shmconform/syscall_matchers.h"
#include "shmconform/system_info.h"
#include "shmconform/test_listing.h"
#include "shmconform/unique_names.h"
