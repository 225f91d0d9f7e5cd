// Ties a test to the catalogued requirements it checks
// (conformance/requirements/*.toml). The IDs are recorded as the gtest
// property "requirements" (comma-separated), so they appear in the XML and
// JSON output of every run, and the catalog check can match tests to them.
//
//   TEST(ShmgetTest, ExclusiveCreateOfExistingKeyFailsWithEEXIST) {
//     REQUIREMENTS("SYSV.SHMGET.EXCL_EXISTS");
//     ...
#pragma once

#include <initializer_list>
#include <string>

namespace shmconform {

// Records the IDs on the running test; fails the test on a malformed ID.
void RecordRequirements(std::initializer_list<const char*> ids);
// The shape of an ID: upper-case dot-separated words, e.g. "SYSV.SHMGET.EXCL".
bool IsWellFormedRequirementId(const std::string& id);

}  // namespace shmconform

#define REQUIREMENTS(...) ::shmconform::RecordRequirements({__VA_ARGS__})
