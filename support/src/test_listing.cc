#include "shmconform/test_listing.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <gtest/gtest.h>

#include "shmconform/requirements.h"

namespace shmconform {
namespace {

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The class TEST/TEST_P generate: "Suite_Name_Test", from "Prefix/Suite" and
// "Name/Row" of a parameter instance.
std::string TestClassName(const std::string& suite, const std::string& name) {
  const size_t slash = suite.rfind('/');
  const std::string base_suite = slash == std::string::npos ? suite : suite.substr(slash + 1);
  return base_suite + "_" + name.substr(0, name.find('/')) + "_Test";
}

// The path relative to the source tree: the compiler saw it absolute, or
// relative to the build directory (ccache's base_dir rewrites it so).
std::string SourceRelative(const char* file) {
  std::string path = file ? file : "";
  const std::string root = SHMCONFORM_SOURCE_DIR "/";
  if (path.compare(0, root.size(), root) == 0) return path.substr(root.size());
  while (path.compare(0, 3, "../") == 0 || path.compare(0, 2, "./") == 0) path.erase(0, path.find('/') + 1);
  return path;
}

// Runs gtest in --gtest_list_tests mode with stdout silenced, so that every
// TestInfo's should_run() reflects the filter, sharding and disabled tests.
void ApplyGtestSelection() {
  GTEST_FLAG_SET(list_tests, true);
  GTEST_FLAG_SET(output, "");
  std::fflush(stdout);
  const int saved = dup(STDOUT_FILENO);
  const int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull >= 0) dup2(devnull, STDOUT_FILENO);
  // In list mode gtest only lists (to the silenced stdout) and returns 0.
  [[maybe_unused]] const int listed = RUN_ALL_TESTS();
  std::fflush(stdout);
  if (saved >= 0) dup2(saved, STDOUT_FILENO);
  for (int fd : {saved, devnull})
    if (fd >= 0) close(fd);
}

}  // namespace

bool TakeListFlag(int* argc, char** argv) {
  bool found = false;
  int kept = 0;
  for (int i = 0; i < *argc; ++i) {
    if (std::strcmp(argv[i], kListFlag) == 0) {
      found = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  argv[kept] = nullptr;
  return found;
}

std::vector<std::string> ListedRequirements(const std::string& suite, const std::string& name,
                                            const char* value_param) {
  std::vector<std::string> ids = StaticRequirementsOf(TestClassName(suite, name));
  for (std::string& id : RequirementsOfRow(value_param))
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(std::move(id));
  return ids;
}

int ListTests(const char* argv0, std::ostream& out) {
  ApplyGtestSelection();
  const char* slash = std::strrchr(argv0, '/');
  out << "{\"schema\": 1, \"binary\": " << JsonString(slash ? slash + 1 : argv0) << ", \"tests\": [";
  const char* separator = "";
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  for (int s = 0; s < unit.total_test_suite_count(); ++s) {
    const ::testing::TestSuite& suite = *unit.GetTestSuite(s);
    for (int t = 0; t < suite.total_test_count(); ++t) {
      const ::testing::TestInfo& info = *suite.GetTestInfo(t);
      if (!info.should_run()) continue;
      out << separator << "\n  {\"name\": " << JsonString(std::string(suite.name()) + "." + info.name())
          << ", \"requirements\": [";
      const char* id_separator = "";
      for (const std::string& id : ListedRequirements(suite.name(), info.name(), info.value_param())) {
        out << id_separator << JsonString(id);
        id_separator = ", ";
      }
      out << "], \"file\": " << JsonString(SourceRelative(info.file())) << ", \"line\": " << info.line() << "}";
      separator = ",";
    }
  }
  out << "\n]}\n";
  out.flush();
  return out.good() ? 0 : 1;
}

}  // namespace shmconform
