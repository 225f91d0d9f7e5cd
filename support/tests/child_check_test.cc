// CHILD_CHECK (support/include/shmconform/child.h): a failed comparison in a
// child reports the values it compared, exactly; a condition joined by && or
// || keeps its short-circuit and is reported as its text.
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "shmconform/child.h"

namespace shmconform {
namespace {

using ::testing::EndsWith;
using ::testing::SizeIs;

// The report of a CHILD_CHECK that failed on `line` of this file.
std::string Report(int line, const std::string& rest) {
  return "child_check_test.cc:" + std::to_string(line) + ": " + rest;
}

// Values the compiler cannot fold away, so each check really runs.
template <class T>
T Opaque(T value) {
  static volatile T stored;
  stored = value;
  return stored;
}

TEST(ChildCheckTest, FailedEqualityShowsBothValues) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const int nattch = Opaque(1);
    CHILD_CHECK(nattch == 2);
  });
  EXPECT_THAT(outcome, ExitedWithCode(kChildCheckFailedExit));
  EXPECT_EQ(outcome.check_failure, Report(line, "nattch == 2: 1 == 2 is false"));
}

TEST(ChildCheckTest, NegativeValueAndRelationalOperator) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const long id = Opaque(-1L);
    CHILD_CHECK(id >= 0);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "id >= 0: -1 >= 0 is false"));
}

TEST(ChildCheckTest, WidestUnsignedValue) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const auto big = Opaque(~0ull);
    CHILD_CHECK(big < 1u);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "big < 1u: 18446744073709551615 < 1 is false"));
}

enum class Mode : short { kLocked = 3, kUnlocked = -4 };

TEST(ChildCheckTest, EnumPrintsItsNumber) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const Mode m = Opaque(Mode::kUnlocked);
    CHILD_CHECK(m == Mode::kLocked);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "m == Mode::kLocked: -4 == 3 is false"));
}

TEST(ChildCheckTest, PointerPrintsInHex) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    void* p = Opaque(reinterpret_cast<void*>(0x1f000));
    CHILD_CHECK(p != reinterpret_cast<void*>(0x1f000));
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "p != reinterpret_cast<void*>(0x1f000): 0x1f000 != 0x1f000 is false"));
}

TEST(ChildCheckTest, NullPointer) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const char* p = Opaque<const char*>(nullptr);
    CHILD_CHECK(p != nullptr);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "p != nullptr: 0x0 != 0x0 is false"));
}

TEST(ChildCheckTest, BoolPrintsAsWord) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const bool done = Opaque(false);
    CHILD_CHECK(done == true);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "done == true: false == true is false"));
}

TEST(ChildCheckTest, CharPrintsQuotedAndNulAsNumber) {
  const int quoted_line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome quoted = RunInChild([] {
    const char c = Opaque('x');
    CHILD_CHECK(c == 's');
  });
  EXPECT_EQ(quoted.check_failure, Report(quoted_line, "c == 's': 'x' == 's' is false"));
  const int nul_line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome nul = RunInChild([] {
    const char c = Opaque('\0');
    CHILD_CHECK(c == 's');
  });
  EXPECT_EQ(nul.check_failure, Report(nul_line, "c == 's': 0 == 's' is false"));
}

struct Opaque2D {
  int x, y;
  bool operator==(const Opaque2D&) const = default;
};

TEST(ChildCheckTest, UnprintableOperandsGiveTheExpressionOnly) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const Opaque2D a{Opaque(1), 2}, b{3, 4};
    CHILD_CHECK(a == b);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "a == b"));
}

TEST(ChildCheckTest, SingleOperandGivesTheExpressionOnly) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const bool attached = Opaque(false);
    CHILD_CHECK(attached);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "attached"));
}

TEST(ChildCheckTest, ConjunctionGivesTheExpressionNotTheFirstComparison) {
  // The first comparison holds; reporting "1 == 1 is false" would be a lie.
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const int a = Opaque(1), b = Opaque(3);
    CHILD_CHECK(a == 1 && b == 2);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "a == 1 && b == 2"));
}

TEST(ChildCheckTest, ConjunctionShortCircuits) {
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const int fd = Opaque(-1);
    CHILD_CHECK(fd >= 0 && (_exit(7), true));
  });
  EXPECT_THAT(outcome, ExitedWithCode(kChildCheckFailedExit));
  EXPECT_EQ(outcome.check_failure, Report(line, "fd >= 0 && (_exit(7), true)"));
}

TEST(ChildCheckTest, DisjunctionShortCircuitsAndPasses) {
  EXPECT_THAT(RunInChild([] {
                const int fd = Opaque(3);
                CHILD_CHECK(fd >= 0 || (_exit(7), true));
              }),
              ExitedWithCode(0));
  const int line = __LINE__ + 3;  // the CHILD_CHECK below
  const ChildOutcome outcome = RunInChild([] {
    const int a = Opaque(1);
    CHILD_CHECK(!a || a == 2);
  });
  EXPECT_EQ(outcome.check_failure, Report(line, "!a || a == 2"));
}

TEST(ChildCheckTest, PassingChecksLetTheChildExitZero) {
  EXPECT_THAT(RunInChild([] {
                const int n = Opaque(2);
                CHILD_CHECK(n == 2);
                CHILD_CHECK(n != 3);
                CHILD_CHECK(n < 3);
                CHILD_CHECK(n <= 2);
                CHILD_CHECK(n > 1);
                CHILD_CHECK(n >= 2);
                CHILD_CHECK(n);
              }),
              ExitedWithCode(0));
}

TEST(ChildCheckTest, LongExpressionIsShortenedSoTheValuesArrive) {
  const ChildOutcome outcome = RunInChild([] {
    const int some_rather_long_operand_name_to_fill_the_report = Opaque(1);
    CHILD_CHECK(some_rather_long_operand_name_to_fill_the_report + some_rather_long_operand_name_to_fill_the_report +
                    some_rather_long_operand_name_to_fill_the_report +
                    some_rather_long_operand_name_to_fill_the_report +
                    some_rather_long_operand_name_to_fill_the_report ==
                0);
  });
  EXPECT_THAT(outcome.check_failure, EndsWith("...: 5 == 0 is false"));
  EXPECT_THAT(outcome.check_failure, SizeIs(231));
}

// The comparison a check makes is the one the condition wrote, mixed-sign
// conversions included (-1 < 1u is false in C++).
TEST(ChildCheckTest, ComparisonsEvaluateAsTheBuiltInOperators) {
  using child_check::Decomposer;
  // Written as CHILD_CHECK expands them, unparenthesised on purpose.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wparentheses"
#pragma GCC diagnostic ignored "-Wsign-compare"
  for (const auto& [a, b] : {std::pair{1, 2}, std::pair{2, 2}, std::pair{2, 1}}) {
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a == b), a == b) << a << " " << b;
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a != b), a != b) << a << " " << b;
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a < b), a < b) << a << " " << b;
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a <= b), a <= b) << a << " " << b;
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a > b), a > b) << a << " " << b;
    EXPECT_EQ(static_cast<bool>(Decomposer{} <= a >= b), a >= b) << a << " " << b;
  }
  const int minus_one = Opaque(-1);
  EXPECT_EQ(static_cast<bool>(Decomposer{} <= minus_one < 1u), minus_one < 1u);
#pragma GCC diagnostic pop
}

}  // namespace
}  // namespace shmconform
