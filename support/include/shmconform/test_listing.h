// `--shmconform_list`: the static test metadata every conformance binary
// offers (the contract is in the project BRIEF and harness/README.md). One
// JSON object on stdout, every test gtest would run under the given flags
// (--gtest_filter, sharding, disabled tests) with its requirement IDs, its
// file and line; no test body runs.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace shmconform {

inline constexpr char kListFlag[] = "--shmconform_list";

// Whether argv holds kListFlag (removed from argv, so gtest does not see it).
bool TakeListFlag(int* argc, char** argv);

// The requirement IDs of a registered test: its static REQUIREMENTS(...) and,
// for a parameter instance, its row's.
std::vector<std::string> ListedRequirements(const std::string& suite, const std::string& name, const char* value_param);

// Writes the listing for the tests gtest selected. Call after
// InitGoogleTest; it runs gtest in list mode (no test runs) to apply the
// filter exactly as a run would.
int ListTests(const char* argv0, std::ostream& out);

}  // namespace shmconform
