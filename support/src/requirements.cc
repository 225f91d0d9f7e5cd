#include "shmconform/requirements.h"

#include <cxxabi.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

namespace shmconform {
namespace {

constexpr char kRowMarker[] = " (requires ";

// Test class name -> IDs. A function-local static: registrations run during
// static initialisation, in no particular order between files.
std::map<std::string, std::vector<std::string>>& StaticRegistry() {
  static auto* registry = new std::map<std::string, std::vector<std::string>>();
  return *registry;
}

// "Suite_Name_Test" from a type: the demangled name without its namespaces.
std::string UnqualifiedName(const std::type_info& type) {
  int status = 0;
  const std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  const std::string name = status == 0 && demangled ? demangled.get() : type.name();
  const size_t colons = name.rfind("::");
  return colons == std::string::npos ? name : name.substr(colons + 2);
}

}  // namespace

bool IsWellFormedRequirementId(const std::string& id) {
  // WORD(.WORD)+ with WORD = [A-Z0-9_]+ starting with a letter or digit.
  bool at_word_start = true;
  int words = 0;
  for (char c : id) {
    if (c == '.') {
      if (at_word_start) return false;
      at_word_start = true;
    } else if (std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '_' && !at_word_start)) {
      if (at_word_start) ++words;
      at_word_start = false;
    } else {
      return false;
    }
  }
  return !at_word_start && words >= 2;
}

void RecordRequirements(std::initializer_list<const char*> ids) {
  std::string joined;
  for (const char* id : ids) {
    if (!IsWellFormedRequirementId(id)) ADD_FAILURE() << "malformed requirement id '" << id << "'";
    if (!joined.empty()) joined += ',';
    joined += id;
  }
  ::testing::Test::RecordProperty("requirements", joined);
}

void PrintRequirementRow(const char* name, const char* requirement, std::ostream* os) {
  *os << name << kRowMarker << requirement << ")";
}

std::vector<std::string> RequirementsOfRow(const char* value_param) {
  std::vector<std::string> ids;
  if (value_param == nullptr) return ids;
  const char* at = std::strstr(value_param, kRowMarker);
  if (at == nullptr) return ids;
  at += sizeof kRowMarker - 1;
  const char* end = std::strchr(at, ')');
  if (end == nullptr) return ids;
  ids.emplace_back(at, end);
  return ids;
}

void RecordRowRequirement(const char* requirement) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::vector<std::string> listed = RequirementsOfRow(info ? info->value_param() : nullptr);
  if (listed.size() != 1 || listed[0] != requirement)
    ADD_FAILURE() << "the row's printed form must carry its requirement (PrintRequirementRow) so that "
                     "--shmconform_list sees it; it reads '"
                  << (info && info->value_param() ? info->value_param() : "") << "'";
  RecordRequirements({requirement});
}

std::vector<std::string> StaticRequirementsOf(const std::string& test_class) {
  const auto found = StaticRegistry().find(test_class);
  return found == StaticRegistry().end() ? std::vector<std::string>{} : found->second;
}

namespace internal {

bool RegisterStaticRequirements(const std::type_info& test_class, const std::vector<const char*>& ids) {
  auto& registered = StaticRegistry()[UnqualifiedName(test_class)];
  for (const char* id : ids)
    if (std::find(registered.begin(), registered.end(), id) == registered.end()) registered.emplace_back(id);
  return true;
}

}  // namespace internal
}  // namespace shmconform
