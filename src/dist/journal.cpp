// The run journal (see journal.h).
#include "dist/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "util/check.h"
#include "util/text.h"

namespace tp {

namespace {

void write_all(int fd, const std::string& path, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw Error(fmt::format("cannot write {}: {}", path, std::strerror(errno)), "check the free space of the output folder");
    off += static_cast<size_t>(w);
  }
}

}  // namespace

nlohmann::json journal_done_json(const JournalDone& d) {
  return {{"event", "done"},  {"unit", d.unit},     {"index", d.index},         {"attempt", d.attempt},
          {"rank", d.rank},   {"shard", d.shard},   {"sample_begin", d.sample_begin}, {"n_samples", d.n_samples},
          {"act_begin", d.act_begin}, {"act_n", d.act_n}, {"n_tokens", d.n_tokens}, {"seconds", d.seconds}, {"device", d.device}};
}

nlohmann::json journal_lost_json(const JournalDone& d) { return {{"event", "lost"}, {"unit", d.unit}, {"shard", d.shard}}; }

nlohmann::json journal_failed_json(const JournalFailed& f) {
  return {{"event", "failed"}, {"unit", f.unit}, {"index", f.index}, {"attempt", f.attempt}, {"tries", f.tries}, {"error", f.error}};
}

JournalState journal_read(const std::string& path) {
  JournalState st;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return st;
  st.exists = true;
  std::string text = read_file(path);
  int32_t last_failed_attempt = -1;
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    bool last = nl == std::string::npos || nl + 1 == text.size();
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    line_no++;
    nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
    if (nl == std::string::npos || e.is_discarded() || !e.is_object() || !e.contains("event")) {
      if (last) {  // a write cut short by a kill: the event never happened
        st.torn_tail = true;
        break;
      }
      throw Error(fmt::format("{}:{}: not a journal line: '{}'", path, line_no, line.substr(0, 80)),
                  "the journal was edited or damaged; move the output folder aside and rerun, or use --force for a fresh run");
    }
    st.n_lines++;
    std::string ev = e["event"];
    try {
      if (ev == "header") {
        if (e.value("format", 0) != JOURNAL_FORMAT)
          throw Error(fmt::format("{}:{}: journal format {} is not {}", path, line_no, e.value("format", 0), JOURNAL_FORMAT),
                      "it was written by another thinkprobe version; rerun with --force for a fresh run");
        st.fingerprint = e.at("fingerprint");
        st.run_id = e.at("run_id");
        st.job_name = e.value("job", "");
        st.created = e.value("created", "");
      } else if (ev == "attempt") {
        st.attempts.push_back(e);
      } else if (ev == "end") {
        if (!st.attempts.empty()) st.attempts.back()["end"] = e.value("time", "");
      } else if (ev == "done") {
        JournalDone d;
        d.unit = e.at("unit");
        d.index = e.at("index");
        d.attempt = e.at("attempt");
        d.rank = e.at("rank");
        d.shard = e.at("shard");
        d.sample_begin = e.at("sample_begin");
        d.n_samples = e.at("n_samples");
        d.act_begin = e.at("act_begin").get<std::vector<int64_t>>();
        d.act_n = e.at("act_n").get<std::vector<int64_t>>();
        d.n_tokens = e.value("n_tokens", 0);
        d.seconds = e.value("seconds", 0.0);
        d.device = e.value("device", "");
        if (st.done.count(d.unit)) throw Error(fmt::format("{}:{}: unit {} is journaled done twice", path, line_no, d.unit));
        st.done[d.unit] = std::move(d);
      } else if (ev == "lost") {
        st.done.erase(e.at("unit").get<std::string>());
      } else if (ev == "failed") {
        JournalFailed f{e.at("unit"), e.at("index"), e.at("attempt"), e.at("tries"), e.at("error")};
        if (f.attempt != last_failed_attempt) st.failed.clear();
        last_failed_attempt = f.attempt;
        st.failed.push_back(std::move(f));
      }
    } catch (const nlohmann::json::exception& x) {
      throw Error(fmt::format("{}:{}: bad {} event: {}", path, line_no, ev, x.what()));
    }
  }
  if (st.fingerprint.empty()) throw Error(fmt::format("{}: no header line", path), "move the output folder aside, or rerun with --force");
  return st;
}

Journal::~Journal() {
  if (fd >= 0) ::close(fd);
}

Journal journal_open(const std::string& path, const JournalState& existing, const nlohmann::json& header) {
  Journal j;
  j.path = path;
  if (existing.exists && existing.torn_tail) {
    // keep only the complete lines
    std::string text = read_file(path);
    size_t keep = text.rfind('\n');
    keep = keep == std::string::npos ? 0 : keep + 1;
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) throw Error(fmt::format("cannot truncate {}: {}", path, std::strerror(errno)));
  }
  j.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (j.fd < 0) throw Error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (!existing.exists) {
    journal_append(j, header);
    journal_sync(j);
    // make the new file's directory entry durable too
    int dfd = ::open(std::filesystem::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
  }
  return j;
}

void journal_append(Journal& j, const nlohmann::json& event) {
  j.buffer += event.dump();
  j.buffer += '\n';
}

void journal_sync(Journal& j) {
  if (j.buffer.empty()) return;
  write_all(j.fd, j.path, j.buffer);
  if (::fsync(j.fd) != 0) throw Error(fmt::format("fsync of {} failed: {}", j.path, std::strerror(errno)));
  j.buffer.clear();
}

}  // namespace tp
