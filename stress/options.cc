#include "options.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "run_state.h"

namespace shmconform::stress {
namespace {

bool ParseU64(const std::string& text, bool suffixes, std::uint64_t* out) {
  if (text.empty() || text[0] == '-' || text[0] == '+') return false;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(text.c_str(), &end, 0);
  if (errno || end == text.c_str()) return false;
  std::uint64_t mult = 1;
  if (suffixes && *end) {
    switch (*end) {
      case 'k':
      case 'K': mult = 1ull << 10; break;
      case 'm':
      case 'M': mult = 1ull << 20; break;
      case 'g':
      case 'G': mult = 1ull << 30; break;
      default: return false;
    }
    ++end;
  }
  if (*end) return false;
  if (v > UINT64_MAX / mult) return false;
  *out = v * mult;
  return true;
}

[[noreturn]] void UsageError(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void UsageError(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "%s: invalid option: ", BinaryName());
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, " (see --help)\n");
  va_end(ap);
  std::exit(kExitUsage);
}

void PrintHelp(const ScenarioDef& def) {
  std::printf("usage: %s [options]\n%s\n\n", BinaryName(), def.summary);
  std::printf("  --duration=SECONDS  run this long (default 10 unless --ops is given)\n");
  std::printf("  --ops=N             stop after N verified operations in total\n");
  std::printf("  --workers=N         worker processes (default: online CPUs; %u..%u)\n", def.min_workers, kMaxWorkers);
  std::printf("  --seed=S            seed of every worker's operation sequence (default: random)\n");
  std::printf("  --json              one JSON object with the results on stdout\n");
  for (const auto& o : def.options)
    std::printf("  --%s=N%*s%s (default %" PRIu64 ", %" PRIu64 "..%" PRIu64 ")\n", o.name,
                std::max(1, 17 - static_cast<int>(std::strlen(o.name))), "", o.help, o.default_value, o.min, o.max);
  if (!def.injections.empty()) {
    std::printf("  --inject=FAULT      test only: break the run on purpose to prove detection:");
    for (const char* i : def.injections) std::printf(" %s", i);
    std::printf("\n");
  }
  std::printf("exit: 0 clean, 1 violation, 2 invalid options, 77 skipped, 128+N interrupted by signal N\n");
}

// Which of the defaults that depend on others a command line replaced.
struct Given {
  bool duration = false, workers = false, seed = false;
};

double ParseDuration(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(value.c_str(), &end);
  if (value.empty() || *end || errno || !(d > 0) || d > 7 * 86400.0)
    UsageError("--duration=%s: must be a number of seconds > 0 and at most a week", value.c_str());
  return d;
}

// --name=value of the framework's own options; false when `name` is none.
bool ParseCommonOption(const std::string& name, const std::string& value, const ScenarioDef& def, Config& c,
                       Given& given) {
  std::uint64_t v = 0;
  if (name == "duration") {
    c.duration_s = ParseDuration(value);
    given.duration = true;
  } else if (name == "ops") {
    if (!ParseU64(value, false, &v) || v == 0) UsageError("--ops=%s: must be an integer > 0", value.c_str());
    c.ops = v;
  } else if (name == "workers") {
    if (!ParseU64(value, false, &v) || v < def.min_workers || v > kMaxWorkers)
      UsageError("--workers=%s: must be an integer in %u..%u", value.c_str(), def.min_workers, kMaxWorkers);
    c.workers = static_cast<unsigned>(v);
    given.workers = true;
  } else if (name == "seed") {
    if (!ParseU64(value, false, &v)) UsageError("--seed=%s: must be an unsigned 64-bit integer", value.c_str());
    c.seed = v;
    given.seed = true;
  } else if (name == "inject") {
    if (std::find_if(def.injections.begin(), def.injections.end(), [&](const char* s) { return value == s; }) ==
        def.injections.end())
      UsageError("--inject=%s: unknown fault for this scenario", value.c_str());
    c.inject = value;
  } else {
    return false;
  }
  return true;
}

// --name=value of one of the scenario's numeric options.
void ParseScenarioOption(const std::string& name, const std::string& value, const ScenarioDef& def, Config& c) {
  const auto it =
      std::find_if(def.options.begin(), def.options.end(), [&](const NumOption& o) { return name == o.name; });
  if (it == def.options.end()) UsageError("unknown option '--%s'", name.c_str());
  std::uint64_t v = 0;
  if (!ParseU64(value, true, &v) || v < it->min || v > it->max)
    UsageError("--%s=%s: must be an integer in %" PRIu64 "..%" PRIu64, name.c_str(), value.c_str(), it->min, it->max);
  c.values[name] = v;
}

void ApplyDefaults(const ScenarioDef& def, const Given& given, Config& c) {
  if (!given.duration && !c.ops) c.duration_s = 10;
  if (!given.workers) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    c.workers = static_cast<unsigned>(std::clamp<long>(n, def.min_workers, 64));
  }
  if (!given.seed) {
    std::uint64_t s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s) s = MonotonicNs() ^ static_cast<std::uint64_t>(getpid());
    c.seed = s % 1000000000000ull;  // short enough to retype
  }
}

}  // namespace

Config ParseOptions(int argc, char** argv, const ScenarioDef& def) {
  Config c;
  c.scenario = def.name;
  Given given;
  for (const auto& o : def.options) c.values[o.name] = o.default_value;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintHelp(def);
      std::exit(kExitClean);
    }
    if (arg == "--json") {
      c.json = true;
      continue;
    }
    const auto eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) UsageError("'%s' is not --name=value", arg.c_str());
    const std::string name = arg.substr(2, eq - 2), value = arg.substr(eq + 1);
    if (!ParseCommonOption(name, value, def, c, given)) ParseScenarioOption(name, value, def, c);
  }
  ApplyDefaults(def, given, c);
  if (def.validate) {
    const std::string err = def.validate(c);
    if (!err.empty()) UsageError("%s", err.c_str());
  }
  return c;
}

}  // namespace shmconform::stress
