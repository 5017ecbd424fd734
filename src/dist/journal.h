// The run journal, OUTDIR/journal.jsonl: the coordinator's append-only record of what is finished.
// One JSON object per line: a header (format, plan fingerprint, run id), then attempt / done / failed /
// lost / end events. A unit is finished only when its "done" line is fsync'd here (after its rows were made
// durable in a shard). A torn last line, left by a kill during a write, is ignored on read and cut off
// before the next append; a bad line anywhere else is reported with its line number.
// Does not decide what to run (dist/schedule does) nor read shards (archive/reader does).
// Used by coordinator.cpp, cmd_inspect.cpp and the tests.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tp {

inline constexpr int JOURNAL_FORMAT = 1;

struct JournalDone {
  std::string unit;   // unit id
  int32_t index = 0;  // plan index
  int32_t attempt = 0, rank = 0;
  std::string shard;  // relative to OUTDIR
  int64_t sample_begin = 0, n_samples = 0;
  std::vector<int64_t> act_begin, act_n;  // per capture position
  int64_t n_tokens = 0;
  double seconds = 0;
  std::string device;  // device kind the unit ran on
};

struct JournalFailed {
  std::string unit;
  int32_t index = 0;
  int32_t attempt = 0;
  int32_t tries = 0;
  std::string error;
};

struct JournalState {
  bool exists = false;
  std::string fingerprint, run_id, job_name, created;
  std::vector<nlohmann::json> attempts;  // "attempt" events: {attempt, start, ranks, hosts}, plus "end" when reached
  std::map<std::string, JournalDone> done;  // by unit id; "lost" events (shard gone) remove entries
  std::vector<JournalFailed> failed;     // failures of the last attempt that recorded any
  int64_t n_lines = 0;
  bool torn_tail = false;                // the last line was incomplete and ignored
};

// Reads a journal; exists = false if there is none. tp::Error naming path:line for a bad line that is not the last.
JournalState journal_read(const std::string& path);

struct Journal {
  int fd = -1;
  std::string path;
  std::string buffer;  // lines appended and not yet written
  Journal() = default;
  Journal(Journal&& o) noexcept : fd(o.fd), path(std::move(o.path)), buffer(std::move(o.buffer)) { o.fd = -1; }
  Journal& operator=(Journal&&) = delete;
  ~Journal();
};

// Opens for appending (cutting a torn tail). A new journal gets the header line, synced at once.
Journal journal_open(const std::string& path, const JournalState& existing, const nlohmann::json& header);
void journal_append(Journal& j, const nlohmann::json& event);  // buffered
void journal_sync(Journal& j);                                 // write the buffer + fsync
nlohmann::json journal_done_json(const JournalDone& d);
nlohmann::json journal_failed_json(const JournalFailed& f);
// A done unit whose shard has gone (moved aside as damaged): it is redone.
nlohmann::json journal_lost_json(const JournalDone& d);

}  // namespace tp
