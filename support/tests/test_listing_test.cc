// --shmconform_list (support/src/test_listing.cc): the binary lists its tests
// with their requirement IDs, honours --gtest_filter and runs no test body.
// The listed tests below are fixtures for the checks at the end, which run
// this very binary again in list mode.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/exec_scenario.h"
#include "shmconform/owners.h"
#include "shmconform/requirements.h"
#include "shmconform/test_listing.h"

namespace shmconform {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMarkerVariable[] = "SHMCONFORM_LISTING_MARKER";

TEST(ListedPlainTest, NamesTwoRequirements) {
  REQUIREMENTS("SUPPORT.LISTING.PLAIN", "SUPPORT.LISTING.SECOND");
  SUCCEED();
}

// Writes a marker file when asked to: listing must never get here.
TEST(ListedMarkerTest, BodyLeavesAMarkerWhenRun) {
  REQUIREMENTS("SUPPORT.LISTING.MARKER");
  if (const char* marker = std::getenv(kMarkerVariable)) {
    FILE* f = std::fopen(marker, "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
}

struct ListedRow {
  const char* name;
  const char* requirement;
};
void PrintTo(const ListedRow& row, std::ostream* os) { PrintRequirementRow(row.name, row.requirement, os); }

class ListedRowTest : public ::testing::TestWithParam<ListedRow> {};

TEST_P(ListedRowTest, EachRowNamesItsRequirement) {
  ROW_REQUIREMENTS(GetParam().requirement);
  SUCCEED();
}

INSTANTIATE_TEST_SUITE_P(Rows, ListedRowTest,
                         ::testing::Values(ListedRow{"First", "SUPPORT.LISTING.ROW_ONE"},
                                           ListedRow{"Second", "SUPPORT.LISTING.ROW_TWO"}),
                         [](const ::testing::TestParamInfo<ListedRow>& info) { return std::string(info.param.name); });

// This binary's listing under `filter`, and its exit status.
struct Listing {
  std::string json;
  int status = -1;
};
Listing ListSelf(const std::string& filter, const std::string& env = "") {
  const std::string command = env + " '" + SelfExecutable() + "' --shmconform_list '--gtest_filter=" + filter + "'";
  Listing listing;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return listing;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) listing.json.append(buf, n);
  listing.status = pclose(pipe);
  return listing;
}

TEST(TestListingTest, PlainTestIsListedWithItsIdsFileAndLine) {
  const Listing listing = ListSelf("ListedPlainTest.*");
  ASSERT_EQ(listing.status, 0) << listing.json;
  EXPECT_THAT(listing.json, HasSubstr("{\"schema\": 1, \"binary\": \"support_test\", \"tests\": ["));
  EXPECT_THAT(listing.json, HasSubstr("{\"name\": \"ListedPlainTest.NamesTwoRequirements\", \"requirements\": "
                                      "[\"SUPPORT.LISTING.PLAIN\", \"SUPPORT.LISTING.SECOND\"], "
                                      "\"file\": \"support/tests/test_listing_test.cc\", \"line\": "));
}

TEST(TestListingTest, EachParameterInstanceIsListedWithItsRowsId) {
  const Listing listing = ListSelf("Rows/ListedRowTest.*");
  ASSERT_EQ(listing.status, 0) << listing.json;
  EXPECT_THAT(listing.json, HasSubstr("\"Rows/ListedRowTest.EachRowNamesItsRequirement/First\", \"requirements\": "
                                      "[\"SUPPORT.LISTING.ROW_ONE\"]"));
  EXPECT_THAT(listing.json, HasSubstr("\"Rows/ListedRowTest.EachRowNamesItsRequirement/Second\", \"requirements\": "
                                      "[\"SUPPORT.LISTING.ROW_TWO\"]"));
}

TEST(TestListingTest, FilterIsHonoured) {
  const Listing listing = ListSelf("Listed*:Rows/Listed*-*/Second");
  ASSERT_EQ(listing.status, 0) << listing.json;
  EXPECT_THAT(listing.json, HasSubstr("\"ListedPlainTest.NamesTwoRequirements\""));
  EXPECT_THAT(listing.json, HasSubstr("\"ListedMarkerTest.BodyLeavesAMarkerWhenRun\""));
  EXPECT_THAT(listing.json, HasSubstr("\"Rows/ListedRowTest.EachRowNamesItsRequirement/First\""));
  EXPECT_THAT(listing.json, Not(HasSubstr("/Second")));
  EXPECT_THAT(listing.json, Not(HasSubstr("TestListingTest")));
}

TEST(TestListingTest, NoTestBodyRunsWhileListing) {
  auto dir = ASSERT_NO_ERRNO_AND_VALUE(TempDir::Create());
  const std::string marker = dir.path() + "/marker";
  const Listing listing = ListSelf("ListedMarkerTest.*", std::string(kMarkerVariable) + "='" + marker + "'");
  ASSERT_EQ(listing.status, 0) << listing.json;
  EXPECT_THAT(listing.json, HasSubstr("ListedMarkerTest.BodyLeavesAMarkerWhenRun"));
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "the test body ran during --shmconform_list";
  EXPECT_THAT(listing.json, Not(HasSubstr("[ RUN")));
}

TEST(TestListingTest, RowTextCarriesTheRequirement) {
  std::ostringstream os;
  PrintRequirementRow("Zero", "SYSV.SHMGET.SIZE_ZERO_EXISTING", &os);
  EXPECT_EQ(os.str(), "Zero (requires SYSV.SHMGET.SIZE_ZERO_EXISTING)");
  EXPECT_THAT(RequirementsOfRow(os.str().c_str()), ::testing::ElementsAre("SYSV.SHMGET.SIZE_ZERO_EXISTING"));
  EXPECT_THAT(RequirementsOfRow("42"), ::testing::IsEmpty());
  EXPECT_THAT(RequirementsOfRow(nullptr), ::testing::IsEmpty());
}

}  // namespace
}  // namespace shmconform
