// Ties a test to the catalogued requirements it checks
// (conformance/requirements/*.toml), in two ways:
//  - statically: the IDs are registered before main() runs, keyed by the test
//    class, so `--shmconform_list` (support/src/main.cc) can list every test
//    with its IDs without running any test;
//  - at run time: the IDs are recorded as the gtest property "requirements"
//    (comma-separated), so they appear in the XML and JSON output of a run.
//
//   TEST(ShmgetTest, ExclusiveCreateOfExistingKeyFailsWithEEXIST) {
//     REQUIREMENTS("SYSV.SHMGET.EXCL_EXISTS");
//     ...
//
// A parameterised test whose rows each name their requirement prints the row
// with PrintRequirementRow (gtest keeps that text as the instance's
// value_param(), which is how the listing finds it) and names it in the body
// with ROW_REQUIREMENTS(GetParam().requirement).
#pragma once

#include <initializer_list>
#include <ostream>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

namespace shmconform {

// Records the IDs on the running test; fails the test on a malformed ID.
void RecordRequirements(std::initializer_list<const char*> ids);
// The shape of an ID: upper-case dot-separated words, e.g. "SYSV.SHMGET.EXCL".
bool IsWellFormedRequirementId(const std::string& id);

// A parameter row's text: "<name> (requires <ID>)".
void PrintRequirementRow(const char* name, const char* requirement, std::ostream* os);
// The IDs a row's text (a TestInfo::value_param()) names; empty if none.
std::vector<std::string> RequirementsOfRow(const char* value_param);
// ROW_REQUIREMENTS: records the row's ID and fails the test when the row's
// printed form does not carry it (the listing would then miss it).
void RecordRowRequirement(const char* requirement);

// The statically registered IDs of the test class named `test_class`
// ("Suite_Name_Test"), in registration order; empty if none.
std::vector<std::string> StaticRequirementsOf(const std::string& test_class);

namespace internal {

bool RegisterStaticRequirements(const std::type_info& test_class, const std::vector<const char*>& ids);

// Instantiated once per REQUIREMENTS(...) site; the static member's dynamic
// initialisation runs before main() and registers the site's IDs.
template <typename Site>
struct StaticRequirements {
  static const bool registered;
};
template <typename Site>
const bool StaticRequirements<Site>::registered = RegisterStaticRequirements(typeid(typename Site::TestClass),
                                                                             Site::Ids());

}  // namespace internal
}  // namespace shmconform

// Inside a TEST/TEST_F/TEST_P body (it names the test class through `this`);
// the IDs must be string literals.
#define REQUIREMENTS(...)                                                                        \
  do {                                                                                           \
    using ShmconformTestClass_ = std::remove_cv_t<std::remove_pointer_t<decltype(this)>>;        \
    struct ShmconformSite_ {                                                                     \
      using TestClass = ShmconformTestClass_;                                                    \
      static std::vector<const char*> Ids() { return {__VA_ARGS__}; }                            \
    };                                                                                           \
    static_cast<void>(&::shmconform::internal::StaticRequirements<ShmconformSite_>::registered); \
    ::shmconform::RecordRequirements({__VA_ARGS__});                                             \
  } while (0)

#define ROW_REQUIREMENTS(requirement) ::shmconform::RecordRowRequirement(requirement)
