#include "shmconform/requirements.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace shmconform {

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

}  // namespace shmconform
