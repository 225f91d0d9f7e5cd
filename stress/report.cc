#include "report.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "run_state.h"
#include "shmconform/errno_names.h"

namespace shmconform::stress {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += static_cast<char>(ch);
    } else if (ch < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "\"";
}

struct Totals {
  std::uint64_t ops = 0, expected_failures = 0;
  std::vector<std::vector<std::uint64_t>> hist;  // [op][bucket]
};

Totals Sum(const SharedState* s, unsigned workers, std::size_t op_types) {
  Totals t;
  t.hist.assign(op_types, std::vector<std::uint64_t>(kBuckets, 0));
  for (unsigned w = 0; w < workers; ++w) {
    t.ops += s->workers[w].ops;
    t.expected_failures += s->workers[w].expected_failures;
    for (std::size_t op = 0; op < op_types; ++op)
      for (unsigned b = 0; b < kBuckets; ++b) t.hist[op][b] += s->workers[w].hist[op][b];
  }
  return t;
}

std::uint64_t Count(const std::vector<std::uint64_t>& histogram) {
  std::uint64_t n = 0;
  for (auto v : histogram) n += v;
  return n;
}

std::string JsonLatencies(const ScenarioDef& def, const Totals& t) {
  std::string j = "{";
  bool first = true;
  for (std::size_t op = 0; op < t.hist.size(); ++op) {
    const std::uint64_t n = Count(t.hist[op]);
    if (!n) continue;
    j += std::string(first ? "" : ", ") + JsonString(def.op_names[op]) + ": {\"count\": " + std::to_string(n) +
         ", \"p50\": " + std::to_string(Percentile(t.hist[op], n, 0.50)) +
         ", \"p99\": " + std::to_string(Percentile(t.hist[op], n, 0.99)) + "}";
    first = false;
  }
  return j + "}";
}

std::string JsonOptions(const Config& c) {
  std::string j = "{";
  bool first = true;
  for (const auto& [k, v] : c.values) {
    j += std::string(first ? "" : ", ") + JsonString(k) + ": " + std::to_string(v);
    first = false;
  }
  return j + "}";
}

std::string JsonOrNull(const std::string& s) { return s.empty() ? std::string("null") : JsonString(s); }

void PrintJson(const Run& run, const Totals& t, double seconds, int interrupted, const std::string& skipped) {
  const Config& c = run.config();
  const SharedState* s = run.shared();
  const std::uint32_t violations = s ? s->violations.load() : 0;
  const std::uint32_t messages = s ? std::min<std::uint32_t>(s->messages_used.load(), kMaxMessages) : 0;
  char num[64];
  std::string j = "{";
  j += "\"scenario\": " + JsonString(c.scenario);
  j += ", \"seed\": " + std::to_string(c.seed);
  j += ", \"workers\": " + std::to_string(c.workers);
  std::snprintf(num, sizeof num, "%.6f", seconds);
  j += std::string(", \"duration_s\": ") + num;
  j += ", \"ops\": " + std::to_string(t.ops);
  std::snprintf(num, sizeof num, "%.1f", seconds > 0 ? static_cast<double>(t.ops) / seconds : 0);
  j += std::string(", \"ops_per_s\": ") + num;
  j += ", \"latency_ns\": " + JsonLatencies(run.def(), t);
  j += ", \"expected_failures\": " + std::to_string(t.expected_failures);
  j += ", \"errors\": " + std::to_string(violations);
  j += ", \"violations\": [";
  for (std::uint32_t i = 0; i < messages; ++i) j += (i ? ", " : "") + JsonString(s->messages[i]);
  j += "]";
  j += ", \"inject\": " + JsonOrNull(c.inject);
  j += ", \"options\": " + JsonOptions(c);
  j += ", \"interrupted\": " + JsonOrNull(interrupted ? SignalName(interrupted) : "");
  j += ", \"skipped\": " + JsonOrNull(skipped);
  j += "}\n";
  std::fputs(j.c_str(), stdout);
}

void PrintText(const Run& run, const Totals& t, double seconds, int interrupted) {
  const Config& c = run.config();
  const std::uint32_t violations = run.shared() ? run.shared()->violations.load() : 0;
  const double rate = seconds > 0 ? static_cast<double>(t.ops) / seconds : 0;
  std::printf("%s: seed=%" PRIu64 " workers=%u %.2fs: %" PRIu64 " verified ops (%.0f/s), %" PRIu64
              " expected failures, %u violation(s)%s\n",
              BinaryName(), c.seed, c.workers, seconds, t.ops, rate, t.expected_failures, violations,
              interrupted ? (", interrupted by " + SignalName(interrupted)).c_str() : "");
  for (std::size_t op = 0; op < t.hist.size(); ++op) {
    const std::uint64_t n = Count(t.hist[op]);
    if (n)
      std::printf("  %-14s %10" PRIu64 " ops  p50 %8" PRIu64 " ns  p99 %9" PRIu64 " ns\n", run.def().op_names[op], n,
                  Percentile(t.hist[op], n, 0.5), Percentile(t.hist[op], n, 0.99));
  }
}

}  // namespace

void Report(const Run& run, double seconds, int interrupted, const std::string& skipped) {
  const SharedState* s = run.shared();
  const Totals t = s ? Sum(s, run.config().workers, run.def().op_names.size()) : Totals{};
  if (run.config().json)
    PrintJson(run, t, seconds, interrupted, skipped);
  else if (!skipped.empty())
    std::printf("%s: skipped: %s\n", BinaryName(), skipped.c_str());
  else
    PrintText(run, t, seconds, interrupted);
  std::fflush(stdout);
}

}  // namespace shmconform::stress
